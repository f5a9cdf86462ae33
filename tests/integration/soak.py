#!/usr/bin/env python3
"""A bounded soak of `llmgw serve`: mixed load for a fixed time, then checks (issue 8, point 6).

    cd tests/integration && LLMGW_BIN=../../build/llmgw python3 soak.py            # 300 s
    cd tests/integration && LLMGW_BIN=../../build/llmgw python3 soak.py --seconds 60

It starts the mock upstream and a gateway (harness.py) on 127.0.0.1 and drives them from a fixed
number of worker threads (--workers, 16). Each worker picks one kind of request at a time:

  echo      POST /gateway/mock/v1/chat/completions (x-mock: echo); the body carries a unique
            token and X-Request-Id; the echoed body and the response's x-request-id must match
  sse       a stream of a random number of events; must be complete: events i=0..n-1 in order,
            then `data: [DONE]`, then the final chunk
  abort     a stream the client closes after its first event (FIN or RST, alternately)
  reset     the upstream resets before answering: 502 with error.type NETWORK is expected
  sse_cut   the upstream resets mid-stream: 200, events, one `event: error`, no [DONE], aborted
  flaky     503 then 200 with a unique key: the gateway's retry must make it a 200 echo
  embed     POST /gateway/mock/v1/embeddings (background lane): 200 echo with the token

Every outcome is counted per kind as ok, expected error, or unexpected (a wrong status, a wrong
or missing token, a stream out of order, a timeout or an exception: a lost or mixed-up answer).

Phases: warm-up (10 % of --seconds, at least 3 s) with full load; a pause in which the workers
stop and, once idle, the gateway's fd count is recorded (fd baseline); the measured phase (the
remaining 90 %) with full load; then the workers stop.

Checks (the exit status is non-zero if any fails):
  1. no crash: the gateway process is alive and GET /health answers 200 at the end;
  2. zero unexpected outcomes (no lost or mixed-up responses), and the load ran: at least
     MIN_RATE requests a second of the measured phase on average, and every kind at least once
     (a gateway that refused every connection would otherwise pass);
  3. RSS: the gateway's VmRSS is sampled every second during the measured phase. The baseline is
     the median of the samples in its first 10 % and the final value the median of the samples
     in its last 10 % (at least 3 samples each). The rule is final < 1.05 * baseline. Skipped
     (reported as "skip") when the binary is built with a sanitizer, or with --no-rss;
  4. fds: within 10 s after the load stops, the gateway's fd count is at most fd baseline + 5.
     Kept-alive upstream connections are not leaks: before each count the mock closes its idle
     connections (/__mock/close_idle), which the gateway's pool must then close too (its sweep
     runs every 10 s; the wait is bounded at 12.5 s);
  5. a clean exit: stopped with SIGTERM, the gateway exits 0 and its log holds no sanitizer
     report (harness.Gateway.stop).

Stdlib only; every loop is bounded in time and in count.
"""
import argparse
import http.client
import json
import os
import random
import socket
import statistics
import struct
import sys
import threading
import time
import uuid

import harness

KINDS = ["echo", "sse", "abort", "reset", "sse_cut", "flaky", "embed"]
WEIGHTS = [35, 20, 10, 7, 8, 10, 10]
IO_TIMEOUT = 15.0  # per socket operation
MAX_ITERATIONS = 10_000_000  # per worker; the deadline ends the loop long before
# Requests a second (all outcomes, measured phase) below which the load did not really run. A
# sanitizer build on two shared cores does several hundred; 20 is far below any real run.
MIN_RATE = 20


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


class Bad(Exception):
    """An unexpected outcome."""


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {k: {"ok": 0, "expected": 0, "unexpected": 0} for k in KINDS}
        self.examples = []

    def add(self, kind, outcome, detail=None):
        with self.lock:
            self.counts[kind][outcome] += 1
            if detail is not None and len(self.examples) < 20:
                self.examples.append(f"{kind}: {detail}")

    def unexpected(self):
        return sum(c["unexpected"] for c in self.counts.values())


class Worker:
    def __init__(self, gw_port, index, seed):
        self.port = gw_port
        self.rng = random.Random(seed * 1000 + index)
        self.index = index
        self.conn = None
        self.aborts = 0

    # -- a kept-alive connection for the non-streaming requests --
    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        return self.conn

    def _drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body, headers):
        """(status, headers lower-case, body) on the worker's kept-alive connection."""
        c = self._conn()
        try:
            c.request(method, path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
        except Exception:
            self._drop()
            raise
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if hdrs.get("connection", "").lower() == "close":
            self._drop()
        return r.status, hdrs, data

    def token(self):
        return f"soak-{self.index}-{uuid.uuid4().hex}"

    def echo_checked(self, path, mock, tok, want_mode=None):
        body = json.dumps({"model": "soak", "token": tok}).encode()
        status, hdrs, data = self.request("POST", path, body, {
            "Content-Type": "application/json", "x-mock": mock, "X-Request-Id": tok})
        if status != 200:
            raise Bad(f"status {status}: {data[:200]!r}")
        if hdrs.get("x-request-id") != tok:
            raise Bad(f"x-request-id {hdrs.get('x-request-id')!r} != {tok}")
        doc = json.loads(data)
        if json.loads(doc["body"]).get("token") != tok:
            raise Bad(f"mixed-up answer: wanted {tok}, got body {doc['body'][:200]!r}")
        if want_mode and hdrs.get("x-processing-mode") != want_mode:
            raise Bad(f"x-processing-mode {hdrs.get('x-processing-mode')!r}")

    # -- the kinds; each returns "ok" or "expected", or raises --
    def do_echo(self):
        self.echo_checked("/gateway/mock/v1/chat/completions", "echo", self.token())
        return "ok"

    def do_embed(self):
        self.echo_checked("/gateway/mock/v1/embeddings", "echo", self.token(), "background")
        return "ok"

    def do_flaky(self):
        tok = self.token()
        self.echo_checked("/gateway/mock/v1/chat/completions", f"flaky;key={tok};fail=1;code=503", tok)
        return "ok"

    def do_reset(self):
        status, _, data = self.request("POST", "/gateway/mock/v1/chat/completions", b"{}",
                                       {"Content-Type": "application/json", "x-mock": "reset"})
        if status != 502:
            raise Bad(f"reset gave status {status}: {data[:200]!r}")
        if json.loads(data)["error"]["type"] != "NETWORK":
            raise Bad(f"reset gave {data[:200]!r}")
        return "expected"

    def stream(self, mock):
        """(status, body bytes, complete) of a streamed request on a new connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        try:
            c.request("POST", "/gateway/mock/v1/chat/completions", body=b'{"stream":true}',
                      headers={"Content-Type": "application/json", "x-mock": mock})
            r = c.getresponse()
            try:
                return r.status, r.read(), True
            except http.client.IncompleteRead as e:
                return r.status, e.partial, False
        finally:
            c.close()

    def do_sse(self):
        n = self.rng.randint(2, 8)
        status, body, complete = self.stream(f"sse;events={n};interval_ms={self.rng.randint(5, 40)}")
        if status != 200 or not complete:
            raise Bad(f"status {status} complete={complete}: {body[-200:]!r}")
        events = [e for e in body.split(b"\n\n") if e]
        if events[-1:] != [b"data: [DONE]"]:
            raise Bad(f"no [DONE] at the end: {body[-200:]!r}")
        seen = [json.loads(e[len(b"data: "):])["i"] for e in events[:-1]]
        if seen != list(range(n)):
            raise Bad(f"events {seen}, wanted 0..{n - 1}")
        return "ok"

    def do_sse_cut(self):
        n = self.rng.randint(1, 4)
        status, body, complete = self.stream(f"sse_cut;events={n};interval_ms=20")
        if status != 200 or complete:
            raise Bad(f"cut stream: status {status} complete={complete}")
        events = [e for e in body.split(b"\n\n") if e]
        if not events or not events[-1].startswith(b"event: error\n") or b"[DONE]" in body:
            raise Bad(f"cut stream without a final error event: {body[-300:]!r}")
        if b'"NETWORK"' not in events[-1] or len(events) != n + 1:
            raise Bad(f"cut stream: {len(events)} events: {body[-300:]!r}")
        return "expected"

    def do_abort(self):
        req = (b"POST /gateway/mock/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
               b"Content-Type: application/json\r\nx-mock: sse;events=40;interval_ms=50\r\n"
               b"Content-Length: 15\r\n\r\n{\"stream\":true}")
        s = socket.create_connection(("127.0.0.1", self.port), timeout=IO_TIMEOUT)
        try:
            s.sendall(req)
            got = b""
            for _ in range(1000):  # until the first event
                b = s.recv(65536)
                if not b:
                    break
                got += b
                if b"data: {" in got:
                    break
            if not got.startswith(b"HTTP/1.1 200") or b"data: {" not in got:
                raise Bad(f"no first event before the abort: {got[:200]!r}")
            self.aborts += 1
            if self.aborts % 2:  # RST instead of FIN every other time
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            s.close()
        return "ok"

    def run(self, stop, stats):
        for _ in range(MAX_ITERATIONS):
            if stop.is_set():
                break
            kind = self.rng.choices(KINDS, WEIGHTS)[0]
            try:
                stats.add(kind, getattr(self, "do_" + kind)())
            except Exception as e:  # pylint: disable=broad-except
                self._drop()
                stats.add(kind, "unexpected", f"{type(e).__name__}: {e}")
        self._drop()


def run_load(port, seconds, workers, seed, stats):
    stop = threading.Event()
    threads = [threading.Thread(target=Worker(port, i, seed).run, args=(stop, stats), daemon=True)
               for i in range(workers)]
    for t in threads:
        t.start()
    return stop, threads


def stop_load(stop, threads):
    stop.set()
    for t in threads:  # each request is bounded by IO_TIMEOUT per operation
        t.join(timeout=4 * IO_TIMEOUT)
    return sum(t.is_alive() for t in threads)


def release_pool(mock):
    """The mock closes its idle kept-alive connections; the gateway's pool closes its ends at its
    next sweep (every 10 s). Returns how many there were."""
    closed = mock.get("/__mock/close_idle")["closed"]
    deadline = time.monotonic() + 12.5
    time.sleep(0.2)
    while harness.close_wait_sockets(mock.port) > 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    return closed


def wait_fds(pid, at_most, timeout):
    deadline = time.monotonic() + timeout
    n = fd_count(pid)
    while n > at_most and time.monotonic() < deadline:
        time.sleep(0.25)
        n = fd_count(pid)
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="total load time (default 300)")
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--no-rss", action="store_true", help="do not check RSS growth")
    args = ap.parse_args()
    warm = max(3.0, args.seconds * 0.10)
    measured = max(10.0, args.seconds - warm)
    check_rss = not args.no_rss and not harness.is_sanitized()

    mock = harness.Mock()
    gw = None
    failures = []
    try:
        gw = harness.Gateway(mock.port)
        pid = gw.proc.pid
        print(f"soak: gateway pid {pid} port {gw.port}, mock port {mock.port}, "
              f"{args.workers} workers, warm-up {warm:.0f} s, measured {measured:.0f} s", flush=True)

        # warm-up
        warm_stats = Stats()
        stop, threads = run_load(gw.port, warm, args.workers, args.seed, warm_stats)
        time.sleep(warm)
        stuck = stop_load(stop, threads)
        time.sleep(2.0)  # let aborted streams and closed connections settle
        release_pool(mock)
        fd_base = fd_count(pid)
        rss_idle_base = rss_kb(pid)

        # measured phase
        stats = Stats()
        samples = []  # RSS in KiB, one a second
        stop, threads = run_load(gw.port, measured, args.workers, args.seed + 1, stats)
        start = time.monotonic()
        for _ in range(int(measured) + 10):
            if time.monotonic() - start >= measured or gw.proc.poll() is not None:
                break
            samples.append(rss_kb(pid))
            time.sleep(max(0.0, min(1.0, measured - (time.monotonic() - start))))
        stuck += stop_load(stop, threads)

        alive = gw.proc.poll() is None
        health = 0
        if alive:
            try:
                health = gw.request("GET", "/health", timeout=10)[0]
            except Exception:  # pylint: disable=broad-except
                health = -1
        pooled = release_pool(mock) if alive else 0
        fd_end = wait_fds(pid, fd_base + 5, 10.0) if alive else -1
        rss_idle_end = rss_kb(pid) if alive else 0

        # report
        print("\n%-8s %8s %8s %10s %10s" % ("kind", "total", "ok", "expected", "unexpected"))
        tot = {"ok": 0, "expected": 0, "unexpected": 0}
        for k in KINDS:
            c = stats.counts[k]
            for o in tot:
                tot[o] += c[o]
            print("%-8s %8d %8d %10d %10d" % (k, sum(c.values()), c["ok"], c["expected"],
                                             c["unexpected"]))
        print("%-8s %8d %8d %10d %10d" % ("all", sum(tot.values()), tot["ok"], tot["expected"],
                                         tot["unexpected"]))
        if warm_stats.unexpected():
            print(f"(warm-up: {warm_stats.unexpected()} unexpected outcomes)")
        for e in warm_stats.examples + stats.examples:
            print("  unexpected:", e[:300])

        print()
        ok_alive = alive and health == 200
        print(f"{'PASS' if ok_alive else 'FAIL'}  no crash: alive={alive}, GET /health -> {health}")
        if not ok_alive:
            failures.append("crash")
        lost = tot["unexpected"] + warm_stats.unexpected() + stuck
        print(f"{'PASS' if lost == 0 else 'FAIL'}  lost or mixed-up: {lost} "
              f"(unexpected outcomes, workers stuck: {stuck})")
        if lost:
            failures.append("lost")
        done = sum(tot.values())
        missing = [k for k in KINDS if sum(stats.counts[k].values()) == 0]
        ran = done >= MIN_RATE * measured and not missing
        print(f"{'PASS' if ran else 'FAIL'}  load ran: {done} requests in {measured:.0f} s "
              f"(at least {MIN_RATE * measured:.0f}), kinds never run: {missing or 'none'}")
        if not ran:
            failures.append("no load")
        k = max(3, len(samples) // 10)
        if len(samples) >= 2 * k:
            base, final = statistics.median(samples[:k]), statistics.median(samples[-k:])
            growth = (final - base) * 100.0 / base
            verdict = ("PASS" if growth < 5.0 else "FAIL") if check_rss else "skip"
            print(f"{verdict}  RSS: median first {k} s {base / 1024:.1f} MiB -> median last {k} s "
                  f"{final / 1024:.1f} MiB ({growth:+.2f} %, limit < 5 %); min {min(samples) / 1024:.1f}, "
                  f"max {max(samples) / 1024:.1f}; idle {rss_idle_base / 1024:.1f} -> "
                  f"{rss_idle_end / 1024:.1f} MiB" + ("" if check_rss else " (sanitizer or --no-rss)"))
            if check_rss and growth >= 5.0:
                failures.append("rss")
        else:
            print(f"{'FAIL' if check_rss else 'skip'}  RSS: only {len(samples)} samples")
            if check_rss:
                failures.append("rss")
        ok_fd = 0 <= fd_end <= fd_base + 5
        print(f"{'PASS' if ok_fd else 'FAIL'}  fds: baseline {fd_base}, after the load {fd_end} "
              f"(limit baseline + 5; {pooled} kept-alive upstream connections closed by the mock first)")
        if not ok_fd:
            failures.append("fds")
        if failures and gw is not None:
            print("\ngateway log tail:\n" + gw.log()[-3000:])
    finally:
        try:
            if gw is not None:
                gw.stop()  # SIGTERM: exit status 0 and no sanitizer report, or AssertionError
        except AssertionError as e:
            print(f"FAIL  clean exit: {e}")
            failures.append("exit")
        finally:
            mock.stop()
    print("\nsoak: " + ("FAILED: " + ", ".join(failures) if failures else "passed"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
