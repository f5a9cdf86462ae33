/*
 * stream_client.c - concurrent SSE streaming load client for the llmgw bench (tests/bench/).
 * Adapted from the project's shared bench harness: adds a connection ramp, progress lines and
 * the largest number of streams seen open at once (for the 10,000-stream scale test).
 *
 *   cc -O2 -Wall -o stream_client stream_client.c -lm
 *   ./stream_client -p PORT -u PATH [-k 200] [-n 50] [-d 20] [-H 'Name: value']... [-t 60] [-b BODY]
 *                   [-r OPEN_PER_SECOND] [-P INTERVAL_MS]
 *
 * -r R  opens the K connections at R per second instead of all at once (listen backlogs are 4096).
 * -P MS prints a progress line to stderr every MS milliseconds (opened, open, done, failed, events).
 * The soft RLIMIT_NOFILE is raised to the hard limit; K is at most 20000.
 *
 * Opens K concurrent connections to 127.0.0.1:PORT (only loopback is allowed), sends one
 * streaming POST per connection (body has "stream": true), and for every SSE event records
 * its arrival time. Per stream, measured from the moment the request was fully written:
 * TTFB (first response byte), TTFT (first content event),
 * total time (until the end of the body), and the gaps: between content events, and from the
 * response head to the first event and from the last one to [DONE]. Prints one JSON object.
 *
 * A gap < delay/4 between consecutive content events means the events arrived together
 * although the upstream spaced them `delay` ms apart: i.e. something buffered/coalesced them.
 * Everything is bounded: K connections, one request each, hard deadline -t seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
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

#define MAX_HEADERS 16

enum { ST_CONNECTING, ST_SENDING, ST_HEAD, ST_BODY, ST_DONE, ST_FAILED };
enum { BODY_CHUNKED, BODY_CL, BODY_EOF };
enum { CH_SIZE, CH_DATA, CH_DATA_CRLF, CH_TRAILER, CH_END };

typedef struct {
    int fd, state;
    size_t sent;
    uint64_t t0, t_first_byte, t_end;
    int status;
    int body_mode;
    long long cl_left;
    /* raw receive buffer (headers and undecoded chunked framing) */
    char *raw; size_t rawlen, rawcap;
    /* chunked decoder */
    int ch_state; long long ch_left;
    /* decoded SSE text not yet split into events */
    char *sse; size_t sselen, ssecap;
    /* event arrival times of content events (ns since t0) */
    uint64_t *ev; int nev, evcap;
    int got_done;
    uint64_t t_done; /* [DONE]'s arrival (ns since t0) */
    const char *err;
} stream_t;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) { fprintf(stderr, "oom\n"); exit(1); }
    return q;
}

static void buf_append(char **b, size_t *len, size_t *cap, const char *d, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 4096;
        while (nc < *len + n + 1) nc *= 2;
        *b = xrealloc(*b, nc); *cap = nc;
    }
    memcpy(*b + *len, d, n);
    *len += n;
    (*b)[*len] = 0;
}

static void fail(stream_t *s, const char *why) {
    if (s->state == ST_DONE || s->state == ST_FAILED) return;
    s->state = ST_FAILED;
    s->err = why;
}

/* split decoded SSE text into events; record content events at time t */
static void sse_feed(stream_t *s, const char *d, size_t n, uint64_t t) {
    buf_append(&s->sse, &s->sselen, &s->ssecap, d, n);
    size_t start = 0;
    for (;;) {
        char *p = s->sse + start;
        size_t left = s->sselen - start;
        char *e1 = memmem(p, left, "\n\n", 2);
        char *e2 = memmem(p, left, "\r\n\r\n", 4);
        char *e = e1; size_t sep = 2;
        if (e2 && (!e1 || e2 < e1)) { e = e2; sep = 4; }
        if (!e) break;
        size_t elen = (size_t)(e - p);
        /* look at data: lines of this event */
        if (memmem(p, elen, "[DONE]", 6)) {
            if (!s->got_done) s->t_done = t - s->t0;
            s->got_done = 1;
        } else if (memmem(p, elen, "data:", 5)) {
            if (s->nev == s->evcap) {
                s->evcap = s->evcap ? s->evcap * 2 : 64;
                s->ev = xrealloc(s->ev, sizeof(uint64_t) * (size_t)s->evcap);
            }
            s->ev[s->nev++] = t - s->t0;
        }
        start += elen + sep;
    }
    if (start > 0) {
        memmove(s->sse, s->sse + start, s->sselen - start);
        s->sselen -= start;
    }
}

/* feed body bytes (after headers); returns 1 when the body is complete */
static int body_feed(stream_t *s, const char *d, size_t n, uint64_t t) {
    if (s->body_mode == BODY_EOF) { sse_feed(s, d, n, t); return 0; }
    if (s->body_mode == BODY_CL) {
        size_t take = (long long)n < s->cl_left ? n : (size_t)s->cl_left;
        sse_feed(s, d, take, t);
        s->cl_left -= (long long)take;
        return s->cl_left == 0;
    }
    /* chunked: d is appended to raw buffer, decode as much as possible */
    buf_append(&s->raw, &s->rawlen, &s->rawcap, d, n);
    size_t i = 0;
    while (i < s->rawlen) {
        if (s->ch_state == CH_SIZE) {
            char *eol = memmem(s->raw + i, s->rawlen - i, "\r\n", 2);
            if (!eol) break;
            long long sz = strtoll(s->raw + i, NULL, 16);
            i = (size_t)(eol - s->raw) + 2;
            if (sz < 0) { fail(s, "bad chunk size"); return 1; }
            if (sz == 0) s->ch_state = CH_TRAILER;
            else { s->ch_state = CH_DATA; s->ch_left = sz; }
        } else if (s->ch_state == CH_DATA) {
            size_t avail = s->rawlen - i;
            size_t take = (long long)avail < s->ch_left ? avail : (size_t)s->ch_left;
            sse_feed(s, s->raw + i, take, t);
            i += take; s->ch_left -= (long long)take;
            if (s->ch_left == 0) s->ch_state = CH_DATA_CRLF;
        } else if (s->ch_state == CH_DATA_CRLF) {
            if (s->rawlen - i < 2) break;
            i += 2;
            s->ch_state = CH_SIZE;
        } else if (s->ch_state == CH_TRAILER) {
            char *eol = memmem(s->raw + i, s->rawlen - i, "\r\n", 2);
            if (!eol) break;
            size_t ll = (size_t)(eol - (s->raw + i));
            i += ll + 2;
            if (ll == 0) { s->ch_state = CH_END; break; }
        } else break;
    }
    memmove(s->raw, s->raw + i, s->rawlen - i);
    s->rawlen -= i;
    return s->ch_state == CH_END;
}

static void on_bytes(stream_t *s, const char *d, size_t n, uint64_t t) {
    if (!s->t_first_byte) s->t_first_byte = t;
    if (s->state == ST_HEAD) {
        buf_append(&s->raw, &s->rawlen, &s->rawcap, d, n);
        char *he = memmem(s->raw, s->rawlen, "\r\n\r\n", 4);
        if (!he) {
            if (s->rawlen > 65536) fail(s, "headers too large");
            return;
        }
        size_t hlen = (size_t)(he - s->raw) + 4;
        if (s->rawlen < 12 || strncmp(s->raw, "HTTP/1.", 7) != 0) { fail(s, "bad status line"); return; }
        s->status = atoi(s->raw + 9);
        if (s->status == 100) { /* skip interim response */
            memmove(s->raw, s->raw + hlen, s->rawlen - hlen);
            s->rawlen -= hlen;
            size_t rest = s->rawlen; s->rawlen = 0;
            char *tmp = malloc(rest + 1); memcpy(tmp, s->raw, rest);
            on_bytes(s, tmp, rest, t);
            free(tmp);
            return;
        }
        s->body_mode = BODY_EOF;
        char *l = memmem(s->raw, hlen, "\r\n", 2) + 2;
        while (l < he) {
            char *e = memmem(l, (size_t)(he + 2 - l), "\r\n", 2);
            char *c = memchr(l, ':', (size_t)(e - l));
            if (c) {
                size_t nl = (size_t)(c - l);
                char *v = c + 1; while (*v == ' ') v++;
                if (nl == 17 && strncasecmp(l, "transfer-encoding", 17) == 0 && memmem(v, (size_t)(e - v), "chunked", 7))
                    s->body_mode = BODY_CHUNKED;
                else if (nl == 14 && strncasecmp(l, "content-length", 14) == 0 && s->body_mode != BODY_CHUNKED) {
                    s->body_mode = BODY_CL; s->cl_left = strtoll(v, NULL, 10);
                }
            }
            l = e + 2;
        }
        size_t rest = s->rawlen - hlen;
        char *tmp = malloc(rest + 1);
        memcpy(tmp, s->raw + hlen, rest);
        s->rawlen = 0;
        s->state = ST_BODY;
        if (s->status != 200) { free(tmp); fail(s, "non-200 status"); return; }
        if ((s->body_mode == BODY_CL && s->cl_left == 0) || body_feed(s, tmp, rest, t)) {
            s->state = (s->state == ST_FAILED) ? ST_FAILED : ST_DONE; s->t_end = t;
        }
        free(tmp);
        return;
    }
    if (s->state == ST_BODY) {
        if (body_feed(s, d, n, t) && s->state != ST_FAILED) { s->state = ST_DONE; s->t_end = t; }
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, int n, double p) { /* v sorted, ns -> ms */
    if (n <= 0) return NAN;
    int idx = (int)ceil(p / 100.0 * n) - 1;
    if (idx < 0) idx = 0;
    if (idx >= n) idx = n - 1;
    return v[idx] / 1e6;
}

static void jnum(const char *k, double v, int last) {
    if (isnan(v)) printf("\"%s\":null%s", k, last ? "" : ",");
    else printf("\"%s\":%.3f%s", k, v, last ? "" : ",");
}

static void usage(void) {
    fprintf(stderr, "usage: stream_client -p PORT -u PATH [-k streams] [-n chunks] [-d delay_ms] "
                    "[-H 'Name: value']... [-t deadline_s] [-b body] [-h host(127.x only)] [-r open_per_s] [-P interval_ms]\n");
    exit(2);
}

static int count_open(stream_t *ss, int n) {
    int open = 0;
    for (int i = 0; i < n; i++) if (ss[i].state == ST_BODY) open++;
    return open;
}

int main(int argc, char **argv) {
    int port = 0, K = 200, chunks = 50, delay = 20, deadline_s = 60, rate = 0, progress = 0;
    const char *path = NULL, *host = "127.0.0.1", *body = NULL;
    const char *hdrs[MAX_HEADERS]; int nh = 0;
    int opt;
    while ((opt = getopt(argc, argv, "p:u:k:n:d:H:t:b:h:r:P:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'u': path = optarg; break;
        case 'k': K = atoi(optarg); break;
        case 'n': chunks = atoi(optarg); break;
        case 'd': delay = atoi(optarg); break;
        case 'H': if (nh < MAX_HEADERS) hdrs[nh++] = optarg; break;
        case 't': deadline_s = atoi(optarg); break;
        case 'b': body = optarg; break;
        case 'h': host = optarg; break;
        case 'r': rate = atoi(optarg); break;
        case 'P': progress = atoi(optarg); break;
        default: usage();
        }
    }
    if (!port || !path || K < 1 || K > 20000 || deadline_s < 1 || deadline_s > 600 || rate < 0 || progress < 0) usage();
    struct in_addr ia;
    if (inet_pton(AF_INET, host, &ia) != 1 || (ntohl(ia.s_addr) >> 24) != 127) {
        fprintf(stderr, "stream_client: only 127.0.0.0/8 targets are allowed\n");
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (!body)
        body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful "
               "assistant used in a gateway benchmark.\"},{\"role\":\"user\",\"content\":\"Stream a short "
               "answer about loopback load testing.\"}],\"temperature\":0.2,\"max_tokens\":64,\"stream\":true}";

    /* build the request once */
    char *req = NULL; size_t reqlen = 0, reqcap = 0;
    char line[2048];
    int ln = snprintf(line, sizeof line,
                      "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                      "Accept: text/event-stream\r\nContent-Length: %zu\r\n",
                      path, host, port, strlen(body));
    buf_append(&req, &reqlen, &reqcap, line, (size_t)ln);
    for (int i = 0; i < nh; i++) {
        buf_append(&req, &reqlen, &reqcap, hdrs[i], strlen(hdrs[i]));
        buf_append(&req, &reqlen, &reqcap, "\r\n", 2);
    }
    buf_append(&req, &reqlen, &reqcap, "\r\n", 2);
    buf_append(&req, &reqlen, &reqcap, body, strlen(body));

    int ep = epoll_create1(0);
    stream_t *ss = calloc((size_t)K, sizeof *ss);
    if (!ss) { fprintf(stderr, "oom\n"); return 1; }
    for (int i = 0; i < K; i++) ss[i].fd = -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = ia};
    uint64_t t_begin = now_ns();
    uint64_t deadline = t_begin + (uint64_t)deadline_s * 1000000000ull;
    int opened = 0, active = 0, max_open = 0;
    uint64_t tick_ns = progress > 0 && progress < 250 ? (uint64_t)progress * 1000000ull : 250000000ull;
    uint64_t next_tick = t_begin + tick_ns, next_print = t_begin + (uint64_t)progress * 1000000ull;
    struct epoll_event evs[512];
    char rbuf[65536];
    for (;;) {
        uint64_t t = now_ns();
        if (t >= deadline) break;
        /* open the streams that are due (all at once without -r) */
        int due = rate ? (int)((t - t_begin) / 1000000ull * (uint64_t)rate / 1000ull) + 1 : K;
        if (due > K) due = K;
        while (opened < due) {
            stream_t *s = &ss[opened];
            int i = opened++;
            s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (s->fd < 0) { fail(s, "socket (too many open files?)"); continue; }
            int one = 1;
            setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            s->t0 = now_ns();
            int r = connect(s->fd, (struct sockaddr *)&sa, sizeof sa);
            if (r < 0 && errno != EINPROGRESS) { fail(s, "connect"); close(s->fd); s->fd = -1; continue; }
            s->state = ST_CONNECTING;
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u32 = (uint32_t)i};
            epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
            active++;
        }
        if (t >= next_tick) {
            int open = count_open(ss, K);
            if (open > max_open) max_open = open;
            next_tick = t + tick_ns;
            if (progress && t >= next_print) {
                int done = 0, failed = 0; long events = 0;
                for (int i = 0; i < K; i++) {
                    done += ss[i].state == ST_DONE; failed += ss[i].state == ST_FAILED; events += ss[i].nev;
                }
                fprintf(stderr, "progress t_ms=%llu opened=%d open=%d done=%d failed=%d events=%ld\n",
                        (unsigned long long)((t - t_begin) / 1000000ull), opened, open, done, failed, events);
                next_print = t + (uint64_t)progress * 1000000ull;
            }
        }
        if (active == 0 && opened == K) break;
        int to = (int)((deadline - t) / 1000000ull) + 1;
        if (to > (int)(tick_ns / 1000000ull)) to = (int)(tick_ns / 1000000ull); /* progress ticks */
        if (opened < K && to > 2) to = 2;     /* ramp */
        int n = epoll_wait(ep, evs, 512, to);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); break; }
        for (int k = 0; k < n; k++) {
            stream_t *s = &ss[evs[k].data.u32];
            uint32_t e = evs[k].events;
            if (s->state == ST_DONE || s->state == ST_FAILED) continue;
            if (s->state == ST_CONNECTING) {
                int err = 0; socklen_t el = sizeof err;
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) { fail(s, "connect failed"); goto finished; }
                s->state = ST_SENDING;
            }
            if (s->state == ST_SENDING && (e & EPOLLOUT)) {
                while (s->sent < reqlen) {
                    ssize_t w = send(s->fd, req + s->sent, reqlen - s->sent, MSG_NOSIGNAL);
                    if (w > 0) s->sent += (size_t)w;
                    else if (w < 0 && errno == EINTR) continue;
                    else if (w < 0 && errno == EAGAIN) break;
                    else { fail(s, "send failed"); goto finished; }
                }
                if (s->sent == reqlen) {
                    s->t0 = now_ns(); /* latencies are measured from "request fully written" */
                    s->state = ST_HEAD;
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = evs[k].data.u32};
                    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
                }
            }
            if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t r = recv(s->fd, rbuf, sizeof rbuf, 0);
                    uint64_t tr = now_ns();
                    if (r > 0) {
                        on_bytes(s, rbuf, (size_t)r, tr);
                        if (s->state == ST_DONE || s->state == ST_FAILED) break;
                        if ((size_t)r < sizeof rbuf) break;
                        continue;
                    }
                    if (r == 0) {
                        if (s->state == ST_BODY && s->body_mode == BODY_EOF) { s->state = ST_DONE; s->t_end = tr; }
                        else fail(s, "connection closed early");
                        break;
                    }
                    if (errno == EINTR) continue;
                    if (errno != EAGAIN) fail(s, "recv failed");
                    break;
                }
            }
        finished:
            if (s->state == ST_DONE || s->state == ST_FAILED) {
                close(s->fd); s->fd = -1;
                active--;
            }
        }
    }
    uint64_t t_all = now_ns() - t_begin;

    /* aggregate */
    uint64_t *ttfb = calloc((size_t)K, 8), *ttft = calloc((size_t)K, 8), *tot = calloc((size_t)K, 8),
             *maxgap = calloc((size_t)K, 8);
    int nttfb = 0, nttft = 0, ntot = 0, nmax = 0, ok = 0, failed = 0, timeouts = 0, incomplete = 0;
    long gaps = 0, burst_gaps = 0, late_gaps = 0;
    double gap_sum = 0;
    uint64_t burst_thr = (uint64_t)delay * 1000000ull / 4; /* < delay/4: arrived together */
    uint64_t late_thr = (uint64_t)delay * 1000000ull * 2;  /* > 2*delay: stalled */
    const char *first_err = NULL;
    /* where the single largest gap of the run fell: which event ended it, and when */
    uint64_t worst_gap = 0, worst_gap_end = 0; int worst_gap_event = -1;
    for (int i = 0; i < K; i++) {
        stream_t *s = &ss[i];
        if (s->state != ST_DONE && s->state != ST_FAILED) { timeouts++; if (s->fd >= 0) close(s->fd); continue; }
        if (s->state == ST_FAILED) { failed++; if (!first_err) first_err = s->err; continue; }
        if (s->nev != chunks || !s->got_done) { incomplete++; }
        else ok++;
        if (s->t_first_byte) ttfb[nttfb++] = s->t_first_byte - s->t0;
        if (s->nev > 0) ttft[nttft++] = s->ev[0];
        tot[ntot++] = s->t_end - s->t0;
        uint64_t mg = 0;
        /* The largest gap counts from the response head to the first event and from the last
         * event to [DONE] too (the mock writes those together): a first event or an end held
         * back is an event held back. The burst and late counts are over content events. */
        for (int j = 0; j <= s->nev; j++) {
            uint64_t from, to;
            if (j == 0) {
                if (!s->t_first_byte || s->nev == 0) continue;
                from = s->t_first_byte - s->t0; to = s->ev[0];
                if (to < from) continue;
            } else if (j == s->nev) {
                if (!s->got_done || s->t_done < s->ev[j - 1]) continue;
                from = s->ev[j - 1]; to = s->t_done;
            } else {
                from = s->ev[j - 1]; to = s->ev[j];
            }
            uint64_t g = to - from;
            if (g > mg) mg = g;
            if (g > worst_gap) { worst_gap = g; worst_gap_event = j; worst_gap_end = s->t0 + to - t_begin; }
            if (j == 0 || j == s->nev) continue;
            gaps++; gap_sum += (double)g;
            if (delay > 0 && g < burst_thr) burst_gaps++;
            if (delay > 0 && g > late_thr) late_gaps++;
        }
        if (s->nev > 1) maxgap[nmax++] = mg;
    }
    qsort(ttfb, (size_t)nttfb, 8, cmp_u64);
    qsort(ttft, (size_t)nttft, 8, cmp_u64);
    qsort(tot, (size_t)ntot, 8, cmp_u64);
    qsort(maxgap, (size_t)nmax, 8, cmp_u64);
    double burst_frac = gaps ? (double)burst_gaps / (double)gaps : NAN;
    printf("{");
    printf("\"streams\":%d,\"opened\":%d,\"max_open\":%d,\"ok\":%d,\"failed\":%d,\"incomplete\":%d,\"timed_out\":%d,", K, opened, max_open, ok, failed, incomplete, timeouts);
    printf("\"chunks_expected\":%d,\"upstream_delay_ms\":%d,", chunks, delay);
    jnum("wall_s", t_all / 1e9, 0);
    jnum("ttfb_p50_ms", pct(ttfb, nttfb, 50), 0);
    jnum("ttfb_p99_ms", pct(ttfb, nttfb, 99), 0);
    jnum("ttft_p50_ms", pct(ttft, nttft, 50), 0);
    jnum("ttft_p99_ms", pct(ttft, nttft, 99), 0);
    jnum("total_p50_ms", pct(tot, ntot, 50), 0);
    jnum("total_p99_ms", pct(tot, ntot, 99), 0);
    jnum("gap_mean_ms", gaps ? gap_sum / gaps / 1e6 : NAN, 0);
    jnum("max_gap_p50_ms", pct(maxgap, nmax, 50), 0);
    jnum("max_gap_p99_ms", pct(maxgap, nmax, 99), 0);
    jnum("max_gap_max_ms", nmax ? maxgap[nmax - 1] / 1e6 : NAN, 0);
    jnum("worst_gap_end_ms", worst_gap_event >= 0 ? worst_gap_end / 1e6 : NAN, 0);
    printf("\"worst_gap_event\":%d,", worst_gap_event);
    jnum("burst_gap_frac", burst_frac, 0);
    jnum("late_gap_frac", gaps ? (double)late_gaps / (double)gaps : NAN, 0);
    printf("\"buffering_detected\":%s,", (!isnan(burst_frac) && burst_frac > 0.10) ? "true" : "false");
    printf("\"first_error\":");
    if (first_err) printf("\"%s\"", first_err); else printf("null");
    printf("}\n");
    return 0;
}
