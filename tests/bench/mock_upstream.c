/*
 * mock_upstream.c - tiny, fast OpenAI-compatible mock upstream for the llmgw bench (tests/bench/),
 * taken from the project's shared bench harness (raises RLIMIT_NOFILE to the hard limit).
 *
 *   cc -O2 -Wall -o mock_upstream mock_upstream.c -lpthread
 *   ./mock_upstream PORT [THREADS]        (binds 127.0.0.1 only; THREADS default 1, max 8)
 *
 * Endpoints (HTTP/1.1, keep-alive, epoll, level-triggered, non-blocking):
 *   POST .../chat/completions[?chunks=N&delay_ms=D]
 *        body contains "stream": true / "stream":true  -> text/event-stream, chunked
 *            transfer-encoding, N OpenAI chat.completion.chunk events (default 20),
 *            chunk k sent at t0 + k*D ms (default D=0: all at once), then "data: [DONE]".
 *        otherwise -> fixed ~400 byte chat.completion JSON with Content-Length.
 *        Any path that ends in /chat/completions is accepted (so a base-URL prefix works).
 *        Params may also be given as path segments, e.g. /mock/chunks=50/delay_ms=20/v1/chat/completions
 *        (for proxies that drop the query string); the query string wins if both are present.
 *   GET  /health -> 200 "ok"
 *
 * Handles partial reads, Content-Length and chunked request bodies, Expect: 100-continue,
 * Connection: close, and (as a bonus) pipelined requests. MOCK_LOG=1 logs request lines to stderr.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HDR (64 * 1024)
#define MAX_BODY (8 * 1024 * 1024)
#define MAX_EVENTS 512

static int g_port;
static int g_log;

static const char NONSTREAM_BODY[] =
    "{\"id\":\"chatcmpl-mock0001\",\"object\":\"chat.completion\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-mini-mock\",\"system_fingerprint\":\"fp_mock\",\"choices\":[{\"index\":0,"
    "\"message\":{\"role\":\"assistant\",\"content\":\"Hello! This is a fixed response from the "
    "mock upstream used for gateway benchmarks.\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
    "\"usage\":{\"prompt_tokens\":25,\"completion_tokens\":17,\"total_tokens\":42}}";

static const char SSE_CHUNK[] =
    "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
    "\"model\":\"gpt-4o-mini-mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok \"},"
    "\"finish_reason\":null}]}\n\n";
static const char SSE_DONE[] = "data: [DONE]\n\n";

typedef struct conn {
    int fd;
    int closed;
    int want_out;     /* EPOLLOUT registered */
    int close_after;  /* close once the current response is flushed */
    int sent_continue;
    char *rbuf; size_t rlen, rcap;
    char *wbuf; size_t wlen, woff, wcap;
    /* streaming state */
    int streaming;
    int chunks_total, chunks_sent, delay_ms;
    uint64_t t0_ns, next_due_ns;
    size_t heap_at; /* 1 + its index in the worker's timer heap; 0: not in it */
} conn;

typedef struct worker {
    int ep, lfd;
    /* connections with an active delayed stream, a binary min-heap on next_due_ns: a wake-up
     * costs O(log n) per due event, not a walk over every open stream (1,000 streams 20 ms
     * apart wake the mock tens of thousands of times a second) */
    conn **heap; size_t heap_len, heap_cap;
} worker;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *m) { perror(m); exit(1); }

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) { fprintf(stderr, "out of memory\n"); exit(1); }
    return q;
}

static void wappend(conn *c, const char *d, size_t n) {
    if (c->woff > 0 && c->woff == c->wlen) c->woff = c->wlen = 0;
    if (c->wlen + n > c->wcap) {
        if (c->woff > 0) { /* compact first */
            memmove(c->wbuf, c->wbuf + c->woff, c->wlen - c->woff);
            c->wlen -= c->woff; c->woff = 0;
        }
        if (c->wlen + n > c->wcap) {
            size_t nc = c->wcap ? c->wcap : 4096;
            while (nc < c->wlen + n) nc *= 2;
            c->wbuf = xrealloc(c->wbuf, nc); c->wcap = nc;
        }
    }
    memcpy(c->wbuf + c->wlen, d, n);
    c->wlen += n;
}

static void wappend_str(conn *c, const char *s) { wappend(c, s, strlen(s)); }

static void wappend_chunk(conn *c, const char *d, size_t n) {
    char h[32];
    int hl = snprintf(h, sizeof h, "%zx\r\n", n);
    wappend(c, h, (size_t)hl);
    wappend(c, d, n);
    wappend(c, "\r\n", 2);
}

static void heap_set(worker *w, size_t i, conn *c) { w->heap[i] = c; c->heap_at = i + 1; }

static void heap_up(worker *w, size_t i) {
    conn *c = w->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (w->heap[parent]->next_due_ns <= c->next_due_ns) break;
        heap_set(w, i, w->heap[parent]);
        i = parent;
    }
    heap_set(w, i, c);
}

static void heap_down(worker *w, size_t i) {
    conn *c = w->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= w->heap_len) break;
        if (child + 1 < w->heap_len && w->heap[child + 1]->next_due_ns < w->heap[child]->next_due_ns) child++;
        if (w->heap[child]->next_due_ns >= c->next_due_ns) break;
        heap_set(w, i, w->heap[child]);
        i = child;
    }
    heap_set(w, i, c);
}

static void heap_push(worker *w, conn *c) {
    if (w->heap_len == w->heap_cap) {
        w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 1024;
        w->heap = xrealloc(w->heap, w->heap_cap * sizeof *w->heap);
    }
    heap_set(w, w->heap_len++, c);
    heap_up(w, w->heap_len - 1);
}

/* the stream ended or its connection closed: out of the heap (a no-op when not in it) */
static void stream_unlink(worker *w, conn *c) {
    if (!c->heap_at) return;
    size_t i = c->heap_at - 1;
    c->heap_at = 0;
    conn *last = w->heap[--w->heap_len];
    if (i == w->heap_len) return;
    heap_set(w, i, last);
    heap_up(w, i);
    heap_down(w, last->heap_at - 1);
}

static void conn_close(worker *w, conn *c) {
    if (c->closed) return;
    c->closed = 1;
    if (c->streaming) { stream_unlink(w, c); c->streaming = 0; }
    close(c->fd); /* also removes it from the epoll set */
    free(c->rbuf); free(c->wbuf);
    free(c);
}

static void set_out(worker *w, conn *c, int on) {
    if (c->want_out == on) return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = on;
}

/* returns -1 if the connection got closed */
static int conn_flush(worker *w, conn *c) {
    while (c->woff < c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
        if (n > 0) { c->woff += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { set_out(w, c, 1); return 0; }
        conn_close(w, c);
        return -1;
    }
    c->woff = c->wlen = 0;
    set_out(w, c, 0);
    if (c->close_after && !c->streaming) { conn_close(w, c); return -1; }
    return 0;
}

static void simple_response(conn *c, const char *status, const char *ctype, const char *body, size_t blen) {
    char h[512];
    int hl = snprintf(h, sizeof h,
                      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                      status, ctype, blen, c->close_after ? "Connection: close\r\n" : "");
    wappend(c, h, (size_t)hl);
    wappend(c, body, blen);
}

static void stream_emit_one(worker *w, conn *c) {
    wappend_chunk(c, SSE_CHUNK, sizeof SSE_CHUNK - 1);
    c->chunks_sent++;
    if (c->chunks_sent >= c->chunks_total) {
        wappend_chunk(c, SSE_DONE, sizeof SSE_DONE - 1);
        wappend_str(c, "0\r\n\r\n");
        if (c->streaming) { stream_unlink(w, c); c->streaming = 0; }
    } else {
        c->next_due_ns = c->t0_ns + (uint64_t)c->chunks_sent * (uint64_t)c->delay_ms * 1000000ull;
    }
}

static void start_stream(worker *w, conn *c, int chunks, int delay_ms) {
    char h[256];
    int hl = snprintf(h, sizeof h,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                      "Transfer-Encoding: chunked\r\n%s\r\n",
                      c->close_after ? "Connection: close\r\n" : "");
    wappend(c, h, (size_t)hl);
    c->chunks_total = chunks; c->chunks_sent = 0; c->delay_ms = delay_ms;
    if (chunks <= 0) {
        wappend_chunk(c, SSE_DONE, sizeof SSE_DONE - 1);
        wappend_str(c, "0\r\n\r\n");
        return;
    }
    if (delay_ms <= 0) {
        while (c->chunks_sent < c->chunks_total) stream_emit_one(w, c);
        return;
    }
    c->t0_ns = now_ns();
    c->streaming = 1;
    stream_emit_one(w, c); /* first chunk immediately, then one every delay_ms */
    if (c->streaming) heap_push(w, c);
}

static int param_int(const char *s, size_t n, const char *key, int def, int lo, int hi) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl < n; i++) {
        if ((i == 0 || s[i - 1] == '?' || s[i - 1] == '&' || s[i - 1] == '/') &&
            memcmp(s + i, key, kl) == 0 && s[i + kl] == '=') {
            long v = 0; size_t j = i + kl + 1; int any = 0;
            while (j < n && s[j] >= '0' && s[j] <= '9' && v < 100000000) { v = v * 10 + (s[j] - '0'); j++; any = 1; }
            if (!any) return def;
            if (v < lo) v = lo;
            if (v > hi) v = hi;
            return (int)v;
        }
    }
    return def;
}

static int body_wants_stream(const char *b, size_t n) {
    return memmem(b, n, "\"stream\":true", 13) || memmem(b, n, "\"stream\": true", 14);
}

static void handle_request(worker *w, conn *c, const char *method, size_t mlen, const char *target,
                           size_t tlen, const char *body, size_t blen) {
    const char *q = memchr(target, '?', tlen);
    size_t plen = q ? (size_t)(q - target) : tlen;
    if (g_log) fprintf(stderr, "mock: %.*s %.*s (%zu body bytes)\n", (int)mlen, method, (int)tlen, target, blen);

    static const char cc[] = "/chat/completions";
    if (plen >= sizeof cc - 1 && memcmp(target + plen - (sizeof cc - 1), cc, sizeof cc - 1) == 0) {
        if (!(mlen == 4 && memcmp(method, "POST", 4) == 0)) {
            simple_response(c, "405 Method Not Allowed", "text/plain", "method not allowed\n", 19);
            return;
        }
        if (body_wants_stream(body, blen)) {
            /* path-segment params first, query string overrides */
            int chunks = param_int(target, plen, "chunks", 20, 0, 100000);
            int delay = param_int(target, plen, "delay_ms", 0, 0, 60000);
            if (q) {
                chunks = param_int(q, tlen - plen, "chunks", chunks, 0, 100000);
                delay = param_int(q, tlen - plen, "delay_ms", delay, 0, 60000);
            }
            start_stream(w, c, chunks, delay);
        } else {
            simple_response(c, "200 OK", "application/json", NONSTREAM_BODY, sizeof NONSTREAM_BODY - 1);
        }
        return;
    }
    if (plen == 7 && memcmp(target, "/health", 7) == 0) {
        simple_response(c, "200 OK", "text/plain", "ok\n", 3);
        return;
    }
    simple_response(c, "404 Not Found", "text/plain", "not found\n", 10);
}

static int hdr_is(const char *name, size_t nlen, const char *want) {
    size_t wl = strlen(want);
    return nlen == wl && strncasecmp(name, want, wl) == 0;
}

/* Chunked body: returns total encoded length consumed if complete (and decodes into *out),
 * 0 if incomplete, -1 on error. */
static long parse_chunked(const char *p, size_t n, char **out, size_t *outlen) {
    size_t i = 0, ol = 0;
    char *o = NULL;
    for (;;) {
        const char *eol = memmem(p + i, n - i, "\r\n", 2);
        if (!eol) { free(o); return (n - i > 64) ? -1 : 0; }
        size_t sz = 0; const char *s = p + i;
        int any = 0;
        while (s < eol) {
            char ch = *s; int d;
            if (ch >= '0' && ch <= '9') d = ch - '0';
            else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
            else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
            else break; /* chunk extensions ignored */
            sz = sz * 16 + (size_t)d; any = 1; s++;
            if (sz > MAX_BODY) { free(o); return -1; }
        }
        if (!any) { free(o); return -1; }
        i = (size_t)(eol - p) + 2;
        if (sz == 0) {
            /* trailers until empty line */
            for (;;) {
                const char *e2 = memmem(p + i, n - i, "\r\n", 2);
                if (!e2) { free(o); return 0; }
                size_t ll = (size_t)(e2 - (p + i));
                i += ll + 2;
                if (ll == 0) break;
            }
            *out = o; *outlen = ol;
            return (long)i;
        }
        if (n - i < sz + 2) { free(o); return 0; }
        if (ol + sz > MAX_BODY) { free(o); return -1; }
        o = xrealloc(o, ol + sz + 1);
        memcpy(o + ol, p + i, sz); ol += sz;
        i += sz + 2;
    }
}

/* returns -1 if the connection got closed */
static int process_requests(worker *w, conn *c) {
    while (!c->streaming && !c->closed && c->rlen > 0) {
        char *hend = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
        if (!hend) {
            if (c->rlen > MAX_HDR) {
                c->close_after = 1;
                simple_response(c, "431 Request Header Fields Too Large", "text/plain", "too large\n", 10);
                return conn_flush(w, c);
            }
            break;
        }
        size_t hlen = (size_t)(hend - c->rbuf) + 4;
        /* request line */
        char *line_end = memmem(c->rbuf, hlen, "\r\n", 2);
        char *sp1 = memchr(c->rbuf, ' ', (size_t)(line_end - c->rbuf));
        char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
        if (!sp1 || !sp2) {
            c->close_after = 1;
            simple_response(c, "400 Bad Request", "text/plain", "bad request\n", 12);
            return conn_flush(w, c);
        }
        const char *method = c->rbuf; size_t mlen = (size_t)(sp1 - c->rbuf);
        const char *target = sp1 + 1; size_t tlen = (size_t)(sp2 - sp1 - 1);
        int http10 = (line_end - sp2 - 1 == 8) && memcmp(sp2 + 1, "HTTP/1.0", 8) == 0;
        long clen = 0; int chunked = 0, conn_close_hdr = 0, conn_keep = 0, expect100 = 0;
        char *l = line_end + 2;
        while (l < hend) {
            char *e = memmem(l, (size_t)(hend + 2 - l), "\r\n", 2);
            char *colon = memchr(l, ':', (size_t)(e - l));
            if (colon) {
                size_t nl = (size_t)(colon - l);
                char *v = colon + 1;
                while (v < e && (*v == ' ' || *v == '\t')) v++;
                size_t vl = (size_t)(e - v);
                if (hdr_is(l, nl, "content-length")) {
                    clen = strtol(v, NULL, 10);
                    if (clen < 0 || clen > MAX_BODY) clen = -1;
                } else if (hdr_is(l, nl, "transfer-encoding")) {
                    if (memmem(v, vl, "chunked", 7)) chunked = 1;
                } else if (hdr_is(l, nl, "connection")) {
                    if (vl >= 5 && strncasecmp(v, "close", 5) == 0) conn_close_hdr = 1;
                    if (vl >= 10 && strncasecmp(v, "keep-alive", 10) == 0) conn_keep = 1;
                } else if (hdr_is(l, nl, "expect")) {
                    if (vl >= 12 && strncasecmp(v, "100-continue", 12) == 0) expect100 = 1;
                }
            }
            l = e + 2;
        }
        if (clen < 0) {
            c->close_after = 1;
            simple_response(c, "413 Payload Too Large", "text/plain", "too large\n", 10);
            return conn_flush(w, c);
        }
        const char *body; size_t blen; size_t total; char *decoded = NULL;
        if (chunked) {
            long r = parse_chunked(c->rbuf + hlen, c->rlen - hlen, &decoded, &blen);
            if (r < 0) {
                c->close_after = 1;
                simple_response(c, "400 Bad Request", "text/plain", "bad chunked body\n", 17);
                return conn_flush(w, c);
            }
            if (r == 0) goto incomplete;
            body = decoded ? decoded : ""; total = hlen + (size_t)r;
        } else {
            if (c->rlen < hlen + (size_t)clen) goto incomplete;
            body = c->rbuf + hlen; blen = (size_t)clen; total = hlen + (size_t)clen;
        }
        if (conn_close_hdr || (http10 && !conn_keep)) c->close_after = 1;
        c->sent_continue = 0;
        handle_request(w, c, method, mlen, target, tlen, body, blen);
        free(decoded);
        memmove(c->rbuf, c->rbuf + total, c->rlen - total);
        c->rlen -= total;
        if (c->close_after) { c->rlen = 0; break; }
        continue;
    incomplete:
        if (expect100 && !c->sent_continue) {
            wappend_str(c, "HTTP/1.1 100 Continue\r\n\r\n");
            c->sent_continue = 1;
        }
        break;
    }
    return conn_flush(w, c);
}

static int conn_read(worker *w, conn *c) {
    for (;;) {
        if (c->rcap - c->rlen < 4096) {
            size_t nc = c->rcap ? c->rcap * 2 : 8192;
            if (nc > MAX_HDR + MAX_BODY + 65536) { conn_close(w, c); return -1; }
            c->rbuf = xrealloc(c->rbuf, nc); c->rcap = nc;
        }
        ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
        if (n > 0) { c->rlen += (size_t)n; if ((size_t)n < c->rcap - c->rlen + (size_t)n) break; continue; }
        if (n == 0) { conn_close(w, c); return -1; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        conn_close(w, c);
        return -1;
    }
    return process_requests(w, c);
}

static void run_timers(worker *w) {
    uint64_t t = now_ns();
    while (w->heap_len > 0 && w->heap[0]->next_due_ns <= t) {
        conn *c = w->heap[0];
        while (c->streaming && c->next_due_ns <= t) stream_emit_one(w, c);
        if (c->streaming) heap_down(w, 0); /* due again later; else it left the heap */
        if (conn_flush(w, c) == 0 && !c->streaming) process_requests(w, c); /* pipelined */
    }
}

/* time until the next stream chunk is due: NULL (block) if no active stream */
static struct timespec *next_timeout(worker *w, struct timespec *ts) {
    if (w->heap_len == 0) return NULL;
    uint64_t t = now_ns(), min = w->heap[0]->next_due_ns;
    uint64_t d = min > t ? min - t : 0;
    ts->tv_sec = (time_t)(d / 1000000000ull);
    ts->tv_nsec = (long)(d % 1000000000ull);
    return ts;
}

static int make_listener(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    return fd;
}

static void *worker_main(void *arg) {
    worker *w = arg;
    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        struct timespec ts;
        int n = epoll_pwait2(w->ep, evs, MAX_EVENTS, next_timeout(w, &ts), NULL); /* ns-precision timer */
        if (n < 0 && errno != EINTR) die("epoll_pwait2");
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                for (;;) {
                    int cfd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) break;
                    int one = 1;
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn *c = calloc(1, sizeof *c);
                    if (!c) { close(cfd); continue; }
                    c->fd = cfd;
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
                    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, cfd, &ev) < 0) { close(cfd); free(c); }
                }
                continue;
            }
            conn *c = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (e & EPOLLOUT) { if (conn_flush(w, c) < 0) continue; if (!c->streaming) { if (process_requests(w, c) < 0) continue; } }
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) { if (conn_read(w, c) < 0) continue; }
        }
        if (w->heap_len > 0) run_timers(w);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]); return 2; }
    g_port = atoi(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : 1;
    if (threads < 1) threads = 1;
    if (threads > 8) threads = 8;
    const char *lg = getenv("MOCK_LOG");
    g_log = lg && *lg && *lg != '0';
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    pthread_t th[8];
    worker ws[8];
    for (int i = 0; i < threads; i++) {
        ws[i].lfd = make_listener();
        ws[i].ep = epoll_create1(EPOLL_CLOEXEC);
        ws[i].heap = NULL; ws[i].heap_len = ws[i].heap_cap = 0;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(ws[i].ep, EPOLL_CTL_ADD, ws[i].lfd, &ev);
    }
    fprintf(stderr, "mock_upstream listening on 127.0.0.1:%d (%d thread%s)\n", g_port, threads, threads > 1 ? "s" : "");
    for (int i = 1; i < threads; i++) pthread_create(&th[i], NULL, worker_main, &ws[i]);
    worker_main(&ws[0]);
    return 0;
}
