#!/usr/bin/env python3
"""llmgw benchmark: the mock upstream served directly, nginx and llmgw, side by side in one run.

Run through scripts/bench (which builds a Release llmgw and the C helpers first):

    tests/bench/bench.py --llmgw BIN --helpers DIR --out FILE.json [--smoke | --profile] [knobs]

Phases (each interleaved: every round runs every target once, in a rotating order, so slow
drifts of a shared machine land on all targets alike):

  throughput  wrk -t1 -c64, non-streaming POST (~320 B in, ~400 B out): direct, nginx (2
              workers), llmgw (--threads 2); per core: nginx (1 worker) and llmgw (--threads 1)
              pinned to CPU 0 with taskset, wrk and the mock moved to CPU 1.
  latency     wrk -t1 at 1 and 16 connections: p50/p99, and each minus direct's of the same round.
  sse         stream_client: 200 and 1,000 concurrent streams of 50 events 20 ms apart. Also
              measured: "control", a second mock served directly, the same path as direct: what
              this machine's noise alone gives in each figure (its "worst - direct" is the floor
              under the gateways' own).
  scale       a fresh mock (and a fresh gateway) per target, N streams of 3 events 15 s apart held
              30 s: RSS above the idle baseline per stream, CPU between the events.
  call        `llmgw call` vs curl to the mock (alternating, median of 20), `llmgw services`.

Only 127.0.0.1 is contacted; every load step is bounded in count and time; everything started
here is stopped by its PID on exit (nginx workers too).
"""

import argparse
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import summarize  # noqa: E402

CHAT = "/v1/chat/completions"
PREFIX = "/gateway/openai"
CLK_TCK = os.sysconf("SC_CLK_TCK")
AUTH = "Authorization: Bearer sk-bench-mock-key"
POST_BODY = open(os.path.join(HERE, "post.lua")).read().split("wrk.body = '", 1)[1].split("'\n", 1)[0]

NGINX = os.environ.get("BENCH_NGINX") or "nginx"
WRK = os.environ.get("BENCH_WRK") or "wrk"
T_START = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - T_START:6.1f}s] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ processes

class Procs:
    """Everything this run started, stopped by PID (and nginx's workers by theirs)."""

    def __init__(self):
        self.procs = []

    def start(self, name, argv, log_path, **kw):
        f = open(log_path, "wb")
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)
        f.close()
        p.bench_name = name
        self.procs.append(p)
        return p

    def stop(self, p, grace=5.0):
        if p not in self.procs:
            return
        kids = children(p.pid)
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        for k in kids:  # nginx workers exit with their master; make sure
            try:
                os.kill(k, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            try:
                self.stop(p, grace=3.0)
            except Exception as e:  # keep stopping the others
                print(f"bench: could not stop {p.pid}: {e}", file=sys.stderr)


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            pass
    return total


def host_steal_ticks():
    """Time the host gave this machine's CPUs to others (the 'steal' column of /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            return int(f.readline().split()[8])
    except (OSError, IndexError, ValueError):
        return None


def gateway_exit_status(t):
    """The exit status of a gateway target that is gone, else None (direct has no process)."""
    return t.proc.poll() if t.proc is not None else None


def status_kb(pids, field):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total


def fd_count(pids):
    n = 0
    for pid in pids:
        try:
            n += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:
            pass
    return n


def set_affinity(pid, cpus):
    """Pin every thread of pid (and of its children, for nginx) to cpus."""
    for p in [pid] + children(pid):
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                try:
                    os.sched_setaffinity(int(tid), cpus)
                except OSError:
                    pass
        except OSError:
            pass


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def http(port, method, path, body=None, headers=None, timeout=10.0, cafile=None):
    """One HTTP/1.1 request on a fresh connection (over TLS trusting `cafile` when given):
    (status, body bytes) or (0, error text)."""
    import http.client
    import ssl
    try:
        if cafile:
            c = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                            context=ssl.create_default_context(cafile=cafile))
        else:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data
    except Exception as e:  # refused while starting, timeouts: the caller decides
        return 0, str(e).encode()


def wait_ready(port, path, proc, timeout=30.0, cafile=None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            return False
        status, _ = http(port, "GET", path, timeout=2.0, cafile=cafile)
        if status == 200:
            return True
        time.sleep(0.1)
    return False


# ------------------------------------------------------------------ targets

class Target:
    def __init__(self, name, label, port, path_prefix, pinned=False):
        self.name, self.label, self.port, self.prefix, self.pinned = name, label, port, path_prefix, pinned
        self.proc = None        # None for direct (the mock itself)
        self.pid_fn = None      # -> pids whose CPU/RSS is the target's

    def pids(self):
        return self.pid_fn()


def render(template, out, values):
    with open(template) as f:
        text = f.read()
    for k, v in values.items():
        text = text.replace(f"@{k}@", str(v))
    with open(out, "w") as f:
        f.write(text)


def start_mock(procs, helpers, run_dir, port, tag="mock"):
    p = procs.start(tag, [os.path.join(helpers, "mock_upstream"), str(port), "1"],
                    os.path.join(run_dir, f"{tag}.log"))
    if not wait_ready(port, "/health", p, 15):
        raise SystemExit(f"bench: the mock upstream did not start (see {run_dir}/{tag}.log)")
    return p


def tls_available():
    """The TLS mock needs node (tls_mock.mjs) and the openssl CLI (its certificate)."""
    return shutil.which("node") is not None and shutil.which("openssl") is not None


def tls_certificate(run_dir):
    """A throwaway self-signed certificate for 127.0.0.1, made once per run: (cert, key)."""
    cert, key = os.path.join(run_dir, "tls-cert.pem"), os.path.join(run_dir, "tls-key.pem")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=30)
    return cert, key


def start_tls_mock(procs, run_dir, port, tag="tls-mock"):
    """tls_mock.mjs: the mock's endpoints over TLS, HTTP/2 (or HTTP/1.1) by ALPN."""
    cert, key = tls_certificate(run_dir)
    p = procs.start(tag, ["node", os.path.join(HERE, "tls_mock.mjs"), str(port), cert, key],
                    os.path.join(run_dir, f"{tag}.log"))
    if not wait_ready(port, "/health", p, 20, cafile=cert):
        raise SystemExit(f"bench: the TLS mock upstream did not start (see {run_dir}/{tag}.log)")
    return p


class MockKeeper:
    """The shared mock of the main phases. If it is gone (it must never exit), the run records
    it, restarts it on the same port, and marks the measurement in progress as invalid."""

    def __init__(self, procs, helpers, run_dir, port):
        self.procs, self.helpers, self.run_dir, self.port = procs, helpers, run_dir, port
        self.restarts = 0
        self.proc = start_mock(procs, helpers, run_dir, port)

    @property
    def pid(self):
        return self.proc.pid

    def check(self, raw):
        """True when the mock is still the one that was running; else restart it."""
        rc = self.proc.poll()
        if rc is None:
            return True
        try:
            with open(os.path.join(self.run_dir, f"mock-{self.restarts}.log" if self.restarts else "mock.log"),
                      errors="replace") as f:
                tail = f.read()[-300:].strip()
        except OSError:
            tail = ""
        raw["notes"].append(f"the mock upstream exited (status {rc}) at {time.monotonic() - T_START:.0f} s "
                            f"and was restarted; the run in progress is marked invalid. Log: {tail!r}")
        log(f"mock upstream exited with status {rc}; restarting it")
        self.procs.procs.remove(self.proc)
        self.restarts += 1
        for _ in range(50):
            try:
                self.proc = start_mock(self.procs, self.helpers, self.run_dir, self.port,
                                       tag=f"mock-{self.restarts}")
                break
            except SystemExit:
                time.sleep(0.2)
        return False


def start_nginx(procs, run_dir, tag, port, mock_port, workers, cpus=None):
    d = os.path.join(run_dir, tag)
    os.makedirs(d, exist_ok=True)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = hard if hard != resource.RLIM_INFINITY else 65536
    render(os.path.join(HERE, "nginx.conf"), os.path.join(d, "nginx.conf"),
           {"PORT": port, "MOCK_PORT": mock_port, "WORKERS": workers, "NOFILE": nofile,
            "WORKER_CONNECTIONS": max(1024, nofile - 64)})
    argv = [NGINX, "-p", d + "/", "-e", "error.log", "-c", os.path.join(d, "nginx.conf")]
    if cpus is not None:
        argv = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] + argv
    p = procs.start(tag, argv, os.path.join(d, "stdout.log"))
    if not wait_ready(port, PREFIX + "/health", p, 20):
        raise SystemExit(f"bench: nginx ({tag}) did not start (see {d}/error.log)")
    return p


def start_llmgw(procs, llmgw, run_dir, tag, port, mock_port, threads, cpus=None, wrapper=(),
                tls=False, gateway_toml=""):
    """tls: the mock is tls_mock.mjs, reached over https:// (HTTP/2), its certificate trusted.
    gateway_toml: lines of a [gateway] table added to the service map."""
    toml = os.path.join(run_dir, f"{tag}.toml")
    render(os.path.join(HERE, "llmgw-bench.toml"), toml,
           {"MOCK_PORT": mock_port, "SCHEME": "https" if tls else "http"})
    if gateway_toml:
        with open(toml, "a") as f:
            f.write("\n[gateway]\n" + gateway_toml + "\n")
    argv = list(wrapper) + [llmgw, "serve", "--port", str(port), "--config", toml,
                            "--log-level", "warn", "--threads", str(threads)]
    if cpus is not None:
        argv = ["taskset", "-c", ",".join(map(str, sorted(cpus)))] + argv
    env = clean_env(run_dir)
    if tls:
        env["SSL_CERT_FILE"] = tls_certificate(run_dir)[0]
    p = procs.start(tag, argv, os.path.join(run_dir, f"{tag}.log"), env=env)
    if not wait_ready(port, "/health", p, 60 if wrapper else 20):
        raise SystemExit(f"bench: llmgw ({tag}) did not start (see {run_dir}/{tag}.log)")
    return p


def clean_env(run_dir):
    """llmgw reads its override file and gateway variables from the environment: not here."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LLMGW_", "OPENAI_", "PROXY_")) and k not in (
               "DEFAULT_TIMEOUT", "BACKGROUND_TIMEOUT", "MAX_RESPONSE_SIZE", "ENABLE_RETRY",
               "ENABLE_FALLBACK", "LOG_LEVEL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
               "http_proxy", "https_proxy", "all_proxy",
               "CURL_CA_BUNDLE", "SSL_CERT_DIR", "SSL_CERT_FILE")}
    env["XDG_CONFIG_HOME"] = os.path.join(run_dir, "xdg")
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def check_target(t):
    """The target answers a chat POST with the mock's JSON and a short stream with [DONE]."""
    hdr = {"Content-Type": "application/json", "Authorization": AUTH.split(": ", 1)[1]}
    status, body = http(t.port, "POST", t.prefix + CHAT, POST_BODY, hdr)
    if status != 200 or b'"chat.completion"' not in body:
        return f"non-streaming POST: HTTP {status}: {body[:200]!r}"
    sbody = POST_BODY.replace('"stream":false', '"stream":true')
    status, body = http(t.port, "POST", t.prefix + CHAT + "?chunks=3&delay_ms=1", sbody, hdr)
    if status != 200 or body.count(b"chat.completion.chunk") != 3 or b"[DONE]" not in body:
        return f"streaming POST: HTTP {status}: {body[:200]!r}"
    return None


# ------------------------------------------------------------------ load generators

def run_wrk(t, conns, dur, loadgen_cpus=None):
    argv = [WRK, "-t1", f"-c{conns}", f"-d{dur}s", "--latency", "-s", os.path.join(HERE, "post.lua"),
            f"http://127.0.0.1:{t.port}{t.prefix}{CHAT}"]
    if loadgen_cpus is not None:
        argv = ["taskset", "-c", ",".join(map(str, sorted(loadgen_cpus)))] + argv
    pids = t.pids()
    c0, w0, s0 = cpu_ticks(pids), time.monotonic(), host_steal_ticks()
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=dur + 30).stdout
    except subprocess.TimeoutExpired:
        return {"error": "wrk timed out"}
    c1, w1, s1 = cpu_ticks(pids), time.monotonic(), host_steal_ticks()
    res = {"error": "no WRKJSON line: " + out[-300:]}
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            res = json.loads(line[8:])
    if s0 is not None and s1 is not None:
        res["host_steal_ms_per_s"] = round((s1 - s0) * 1000 / CLK_TCK / (w1 - w0), 2)
    if "requests" in res:
        cpu_s = (c1 - c0) / CLK_TCK
        res["sut_cpu_cores"] = round(cpu_s / (w1 - w0), 3)
        res["sut_cpu_us_per_req"] = round(cpu_s / res["requests"] * 1e6, 2) if res["requests"] else None
        res["errors"] = sum(res[k] for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout"))
    return res


def run_streams(helpers, t, k, n, d, deadline, extra=(), stderr_path=None, background=False):
    argv = [os.path.join(helpers, "stream_client"), "-p", str(t.port), "-u",
            f"{t.prefix}{CHAT}?chunks={n}&delay_ms={d}", "-k", str(k), "-n", str(n), "-d", str(d),
            "-t", str(deadline)] + list(extra)
    if background:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=open(stderr_path, "w"), text=True)
    pids = t.pids()
    c0, w0 = cpu_ticks(pids), time.monotonic()
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=deadline + 20)
        res = json.loads(p.stdout) if p.stdout.strip() else {"error": p.stderr[-300:]}
    except (subprocess.TimeoutExpired, ValueError) as e:
        res = {"error": str(e)}
    c1, w1 = cpu_ticks(pids), time.monotonic()
    res["sut_cpu_cores"] = round((c1 - c0) / CLK_TCK / (w1 - w0), 3)
    return res


def rotate(items, r):
    r %= len(items)
    return items[r:] + items[:r]


# ------------------------------------------------------------------ phases

def note_gateway_exit(t, res, raw):
    """A gateway that died is a failure of every run from then on, not a run left out."""
    status = gateway_exit_status(t)
    if status is None:
        return
    res["gateway_exited"] = status
    note = f"{t.name} exited (status {status}); its runs from then on count as errors"
    if note not in raw["notes"]:
        raw["notes"].append(note)
        log(note)


def phase_throughput(a, targets, mock, raw, deadline):
    names = [n for n in ("direct", "nginx", "llmgw", "nginx-1w", "llmgw-1t") if n in targets]
    all_cpus = set(os.sched_getaffinity(0))
    for r in range(a.rounds):
        if time.monotonic() > deadline:
            raw["notes"].append(f"throughput: stopped after {r} rounds (time budget)")
            break
        for name in rotate(names, r):
            t = targets[name]
            mock.check(raw)
            if t.pinned:
                set_affinity(mock.pid, {1})
                res = run_wrk(t, a.tp_conns, a.tp_dur, loadgen_cpus={1})
                set_affinity(mock.pid, all_cpus)
            else:
                res = run_wrk(t, a.tp_conns, a.tp_dur)
            if not mock.check(raw):
                res["invalid"] = "the mock exited during the run"
            note_gateway_exit(t, res, raw)
            res.update(round=r, target=name)
            raw["throughput"].append(res)
            log(f"throughput r{r} {name:9s} {res.get('rps', 0):>9,.0f} req/s  "
                f"p99 {res.get('lat_p99_ms', 0):.2f} ms  cpu {res.get('sut_cpu_us_per_req')} us/req  "
                f"errors {res.get('errors', res.get('error'))}")


def phase_latency(a, targets, mock, raw, deadline):
    names = [n for n in ("direct", "nginx", "llmgw") if n in targets]
    for r in range(a.lat_rounds):
        if time.monotonic() > deadline:
            raw["notes"].append(f"latency: stopped after {r} rounds (time budget)")
            break
        for conns in a.lat_conns:
            for name in rotate(names, r):
                mock.check(raw)
                res = run_wrk(targets[name], conns, a.lat_dur)
                if not mock.check(raw):
                    res["invalid"] = "the mock exited during the run"
                note_gateway_exit(targets[name], res, raw)
                res.update(round=r, target=name, conns=conns)
                raw["latency"].append(res)
                log(f"latency r{r} c{conns:<3d} {name:7s} p50 {res.get('lat_p50_ms', 0):.3f} "
                    f"p99 {res.get('lat_p99_ms', 0):.3f} ms  errors {res.get('errors', res.get('error'))}")


def phase_sse(a, targets, mock, raw, deadline):
    names = [n for n in ("direct", "control", "nginx", "llmgw") if n in targets]
    for r in range(a.sse_rounds):
        if time.monotonic() > deadline:
            raw["notes"].append(f"sse: stopped after {r} rounds (time budget)")
            break
        for k in a.sse_streams:
            for name in rotate(names, r):
                mock.check(raw)
                res = run_streams(a.helpers, targets[name], k, a.sse_events, a.sse_delay, 60)
                if not mock.check(raw):
                    res["invalid"] = "the mock exited during the run"
                note_gateway_exit(targets[name], res, raw)
                res.update(round=r, target=name, k=k)
                raw["sse"].append(res)
                log(f"sse r{r} k{k:<5d} {name:8s} ok {res.get('ok')}/{k}  ttfb p99 "
                    f"{res.get('ttfb_p99_ms')} ms  largest gap {res.get('max_gap_max_ms')} ms "
                    f"{res.get('first_error') or res.get('error') or ''}")
                time.sleep(0.3)  # let closed connections settle between targets


def phase_scale(a, procs, run_dir, raw, deadline):
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    n_fit = (hard - 200) // 2  # a proxied stream holds 2 fds in the gateway (client + upstream)
    n = min(a.scale_streams, n_fit)
    if n < a.scale_streams:
        raw["notes"].append(
            f"scale: {a.scale_streams} streams asked, {n} run: the open-files hard limit is {hard} "
            f"(raising it needs CAP_SYS_RESOURCE, which this machine does not give), and each proxied "
            f"stream holds 2 descriptors in the gateway (1 over HTTP/2, where 100 streams share "
            f"an upstream connection: llmgw-h2)")
    # Over HTTP/2 (llmgw-h2: https:// to tls_mock.mjs) libcurl carries up to 100 streams on one
    # upstream connection: a stream holds 1 descriptor in the gateway, and 10,000 fit.
    n_h2 = min(a.scale_streams, hard - 1000)
    raw["scale_meta"] = {"asked": a.scale_streams, "streams": n, "streams_h2": n_h2,
                         "nofile_hard": hard, "hold_s": a.scale_hold, "ramp_per_s": a.scale_ramp}
    delay_ms = a.scale_hold * 1000 // 2   # events at 0, hold/2, hold
    names = [t for t in ("direct", "nginx", "llmgw") if t in a.targets]
    if "llmgw" in a.targets:
        if tls_available():
            names.append("llmgw-h2")
        else:
            raw["notes"].append("scale: llmgw over HTTP/2 skipped: node and openssl are needed "
                                "for the TLS mock (scripts/bootstrap installs them)")
    for name in names:
        if time.monotonic() > deadline:
            raw["notes"].append(f"scale: {name} skipped (time budget)")
            continue
        streams = n_h2 if name == "llmgw-h2" else n
        ramp_s = streams / a.scale_ramp
        mport, gport = free_ports(2)
        if name == "llmgw-h2":
            mock = start_tls_mock(procs, run_dir, mport, tag="scale-tls-mock")
        else:
            mock = start_mock(procs, a.helpers, run_dir, mport, tag=f"scale-mock-{name}")
        gw = None
        if name == "direct":
            t = Target("direct", "direct", mport, "")
            t.pid_fn = lambda m=mock: [m.pid]
        elif name == "nginx":
            gw = start_nginx(procs, run_dir, "scale-nginx", gport, mport, 2)
            t = Target("nginx", "nginx", gport, PREFIX)
            t.pid_fn = lambda g=gw: children(g.pid)
        else:
            gw = start_llmgw(procs, a.llmgw, run_dir, f"scale-{name}", gport, mport, 2,
                             tls=name == "llmgw-h2")
            t = Target(name, name, gport, PREFIX)
            t.pid_fn = lambda g=gw: [g.pid]
        err = check_target(t)
        # warm up: a few requests and streams, so lazy initialisation is in the baseline
        run_streams(a.helpers, t, 20, 2, 1, 20)
        time.sleep(0.2 if a.smoke else 1.0)
        pids = t.pids()
        rss_idle = status_kb(pids, "VmRSS")
        fds_idle = fd_count(pids)
        log(f"scale {name}: {streams} streams x 3 events {delay_ms} ms apart, opened at {a.scale_ramp}/s "
            f"(idle RSS {rss_idle / 1024:.1f} MiB)")
        errpath = os.path.join(run_dir, f"scale-{name}.stderr")
        client = run_streams(a.helpers, t, streams, 3, delay_ms, a.scale_hold + int(ramp_s) + 40,
                             extra=["-r", str(a.scale_ramp), "-P", "100" if a.smoke else "500"], stderr_path=errpath, background=True)
        t0 = time.monotonic()
        # Quiet window: from when every stream has its first event (the client's progress lines
        # say so) until just before the second event is due. Setting up the streams is not idle.
        margin = min(1.0, delay_ms / 4000.0)
        q1 = t0 + delay_ms / 1000.0 - margin
        all_open = None
        samples = []
        c0 = c1 = tq0 = tq1 = None
        while client.poll() is None and time.monotonic() < t0 + a.scale_hold + ramp_s + 60:
            now = time.monotonic()
            if all_open is None:
                last = progress_last(errpath)
                if last and last.get("open", 0) + last.get("done", 0) + last.get("failed", 0) >= streams \
                        and last.get("events", 0) >= streams:
                    all_open = now
            if all_open is not None and c0 is None and now >= all_open + margin and now < q1:
                c0, tq0 = cpu_ticks(pids), now
            if c0 is not None and c1 is None and now >= q1:
                c1, tq1 = cpu_ticks(pids), now
            if all_open is not None and now <= q1:
                samples.append((round(now - t0, 2), status_kb(pids, "VmRSS"), fd_count(pids)))
            time.sleep(0.1 if a.smoke else 0.25)
        try:
            out, _ = client.communicate(timeout=30)
            res = json.loads(out) if out.strip() else {"error": "no output"}
        except (subprocess.TimeoutExpired, ValueError) as e:
            client.kill()
            res = {"error": str(e)}
        rss_hwm = status_kb(pids, "VmHWM")
        rss_hold = max((s[1] for s in samples), default=None)
        fds_hold = max((s[2] for s in samples), default=None)
        if all_open is None or c0 is None or c1 is None:
            raw["notes"].append(f"scale {name}: no quiet window (all {streams} streams open after "
                                f"{'never' if all_open is None else round(all_open - t0, 1)} s; the second "
                                f"events were due at {delay_ms / 1000:g} s)")
        res.update(target=name, check_error=err, rss_idle_kb=rss_idle, rss_hold_kb=rss_hold,
                   rss_hwm_kb=rss_hwm, fds_idle=fds_idle, fds_hold=fds_hold,
                   all_open_s=round(all_open - t0, 2) if all_open is not None else None,
                   kib_per_stream=(round((rss_hold - rss_idle) / streams, 2)
                                   if (streams and rss_hold) else None),
                   quiet_window_s=round(tq1 - tq0, 2) if (tq0 and tq1) else None,
                   cpu_between_events_cores=round((c1 - c0) / CLK_TCK / (tq1 - tq0), 4)
                   if (c0 is not None and c1 is not None and tq1 > tq0) else None,
                   progress_tail=open(errpath).read().splitlines()[-3:])
        raw["scale"].append(res)
        log(f"scale {name}: ok {res.get('ok')}/{streams}, max open {res.get('max_open')}, "
            f"{res['kib_per_stream']} KiB/stream, CPU between events {res['cpu_between_events_cores']} cores")
        if gw is not None:
            procs.stop(gw)
        procs.stop(mock)
        if not a.smoke:
            time.sleep(1.0)


def perf_report(data, out_path, extra):
    """perf report --stdio, with the padding perf adds after long C++ names taken out."""
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio"] + extra, capture_output=True, text=True,
                         timeout=600)
    lines = [re.sub(r"\s+-\s+-\s*$", "", ln).rstrip() for ln in rep.stdout.splitlines()]
    with open(out_path, "w") as f:
        f.write("\n".join(ln for ln in lines if ln) + "\n")


def strace_counts(path):
    """{syscall: calls} from an `strace -c` summary."""
    out = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
                out[parts[-1]] = int(parts[3])
    return out


def callgrind_self(dump, top=40):
    """Self cost (Ir) per function of a callgrind dump, highest first: [(Ir, 'object: function')].
    (callgrind_annotate of this valgrind puts everything on __libc_start_main without debug info.)"""
    names, objs, self_ir = {}, {}, {}
    fn = ob = None
    after_call = False

    def ref(text, table):
        text = text.strip()
        if text.startswith("("):
            i = text.index(")")
            key = text[1:i]
            if text[i + 1:].strip():
                table[key] = text[i + 1:].strip()
            return table.get(key, key)
        return text

    with open(dump) as f:
        for line in f:
            if line.startswith("ob="):
                ob = ref(line[3:], objs)
            elif line.startswith("fn="):
                fn = (os.path.basename(ob or "?"), ref(line[3:], names))
            elif line.startswith(("cob=", "cfn=", "cfi=", "cfl=")):
                if line.startswith("cfn="):
                    ref(line[4:], names)
                elif line.startswith("cob="):
                    ref(line[4:], objs)
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                if after_call:
                    after_call = False  # the inclusive cost of that call
                    continue
                parts = line.split()
                if len(parts) >= 2 and fn is not None:
                    self_ir[fn] = self_ir.get(fn, 0) + int(parts[1])
    ranked = sorted(self_ir.items(), key=lambda kv: -kv[1])[:top]
    return [(ir, f"{o}: {n}") for (o, n), ir in ranked]


def progress_last(path):
    """The last `progress k=v ...` line of stream_client -P, as a dict."""
    try:
        with open(path) as f:
            lines = [ln for ln in f.read().splitlines() if ln.startswith("progress ")]
    except OSError:
        return None
    if not lines:
        return None
    return {k: int(v) for k, v in (kv.split("=", 1) for kv in lines[-1].split()[1:])}


def spawn_time(argv, env, runs_out):
    """Wall time of one run of argv (stdout and stderr to /dev/null): (seconds, exit status)."""
    fa = [(os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
          (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
          (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0)]
    t0 = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, env, file_actions=fa)
    # Bounded: a command that hangs is killed and counts as exit status 124. The wait sleeps
    # in the kernel until the child exits (a pidfd turns readable), so the timing is exact
    # and costs the machine nothing while the command runs.
    fd = os.pidfd_open(pid)
    try:
        exited, _, _ = select.select([fd], [], [], SPAWN_LIMIT_S)
    finally:
        os.close(fd)
    if not exited:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return 124
    _, st = os.waitpid(pid, 0)
    dt = time.perf_counter() - t0
    runs_out.append(dt * 1000.0)
    return os.waitstatus_to_exitcode(st)


SPAWN_LIMIT_S = 20  # one `llmgw call` or `curl` to the local mock takes milliseconds


def phase_call(a, procs, mock_port, run_dir, raw, deadline):
    env = clean_env(run_dir)
    toml = os.path.join(run_dir, "call.toml")
    render(os.path.join(HERE, "llmgw-bench.toml"), toml, {"MOCK_PORT": mock_port, "SCHEME": "http"})
    body = os.path.join(run_dir, "body.json")
    with open(body, "w") as f:
        f.write(POST_BODY)
    curl = ["curl", "-sS", "-m", "10", "-o", "/dev/null", "-X", "POST", "-H",
            "Content-Type: application/json", "-H", AUTH, "--data-binary", "@" + body]
    call = [a.llmgw, "call", "openai", CHAT, "-q", "-m", "10", "-H", AUTH, "-d", "@" + body,
            "--config"]
    cmds = {
        "curl": curl + [f"http://127.0.0.1:{mock_port}{CHAT}"],
        "llmgw_call": call + [toml],
        "llmgw_services": [a.llmgw, "services", "--config", toml],
        "llmgw_version": [a.llmgw, "--version"],
        "true": ["true"],
    }
    tls_mock = None
    if tls_available():
        # The same request to tls_mock.mjs over https:// (HTTP/2): both load libcurl and its TLS
        # library, and both trust the mock's certificate through SSL_CERT_FILE.
        tls_port = free_ports(1)[0]
        tls_mock = start_tls_mock(procs, run_dir, tls_port, tag="call-tls-mock")
        tls_toml = os.path.join(run_dir, "call-tls.toml")
        render(os.path.join(HERE, "llmgw-bench.toml"), tls_toml,
               {"MOCK_PORT": tls_port, "SCHEME": "https"})
        env["SSL_CERT_FILE"] = tls_certificate(run_dir)[0]
        cmds["curl_https"] = curl + [f"https://127.0.0.1:{tls_port}{CHAT}"]
        cmds["llmgw_call_https"] = call + [tls_toml]
    else:
        raw["notes"].append("call over https skipped: node and openssl are needed for the TLS mock")
    # correctness first: both answer with the mock's JSON
    res = {"runs": a.call_runs, "commands": {k: " ".join(v) for k, v in cmds.items()}, "times_ms": {}, "exit": {}}
    checks = {k: ["curl", "-sS", "-m", "10"] + cmds[k][6:] if k.startswith("curl") else cmds[k]
              for k in ("curl", "llmgw_call", "curl_https", "llmgw_call_https") if k in cmds}
    for k, argv in checks.items():
        p = subprocess.run(argv, capture_output=True, env=env, timeout=30)
        ok = p.returncode == 0 and b'"chat.completion"' in p.stdout
        res[f"{k}_answer_ok"] = ok
        if not ok:
            res[f"{k}_answer"] = (p.stdout[-200:] + p.stderr[-300:]).decode(errors="replace")
    for k in cmds:
        res["times_ms"][k] = []
        res["exit"][k] = []
    for _ in range(a.call_warmup):
        for k in cmds:
            spawn_time(cmds[k], env, [])
    for i in range(a.call_runs):  # alternating: A B C A B C ...
        if time.monotonic() > deadline:
            raw["notes"].append(f"call: stopped after {i} runs (time budget)")
            break
        for k in cmds:
            res["exit"][k].append(spawn_time(cmds[k], env, res["times_ms"][k]))
    if tls_mock is not None:
        procs.stop(tls_mock)
    raw["call"] = res
    med = {k: statistics.median(v) for k, v in res["times_ms"].items() if v}
    log("call: " + ", ".join(f"{k} {v:.2f} ms" for k, v in med.items()))


# ------------------------------------------------------------------ profile

# System calls and instructions per request are the relay's own with busy polling off: the polls
# of an idle loop (epoll_wait with no wait, sched_yield) are not work done per request, and under
# callgrind's slowness the loop would poll for a different share of the time than it does.
NO_BUSY_POLL = "busy_poll_us = 0"


def phase_profile(a, procs, run_dir, out_dir):
    """perf (sampled CPU time, call graphs) and callgrind (instructions per request) of llmgw."""
    os.makedirs(out_dir, exist_ok=True)
    prof = {"notes": []}
    mport, gport = free_ports(2)
    mock = start_mock(procs, a.helpers, run_dir, mport, tag="prof-mock")
    t = Target("llmgw", "llmgw", gport, PREFIX)

    if shutil.which("perf"):
        gw = start_llmgw(procs, a.llmgw, run_dir, "prof-llmgw", gport, mport, 2)
        t.pid_fn = lambda: [gw.pid]
        run_wrk(t, a.tp_conns, 2)  # warm
        data = os.path.join(out_dir, "perf.data")
        rec = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384",
                                "-p", str(gw.pid), "-o", data, "--", "sleep", str(a.tp_dur)],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(out_dir, "perf-record.log"), "w"))
        res = run_wrk(t, a.tp_conns, a.tp_dur)
        rec.wait(a.tp_dur + 60)
        prof["perf_wrk"] = res
        perf_report(data, os.path.join(out_dir, "perf-dso.txt"), ["--no-children", "--sort", "dso", "-g", "none"])
        perf_report(data, os.path.join(out_dir, "perf-self.txt"),
                    ["--no-children", "--sort", "dso,symbol", "-g", "none", "--percent-limit", "0.5"])
        perf_report(data, os.path.join(out_dir, "perf-children.txt"),
                    ["--children", "--sort", "symbol", "-g", "none", "--percent-limit", "2"])
        perf_report(data, os.path.join(out_dir, "perf-callers.txt"),
                    ["--no-children", "--sort", "symbol", "--percent-limit", "2",
                     "-g", "caller,0.5,callee,function,percent"])
        log(f"profile: perf wrote {out_dir}/perf-self.txt, perf-children.txt ({res.get('rps', 0):,.0f} req/s under perf)")

        # idle streams: what the gateway does between events (it should sleep)
        k = a.profile_idle_streams
        client = run_streams(a.helpers, t, k, 2, 30000, 60, extra=["-r", "4000"],
                             stderr_path=os.path.join(out_dir, "idle-client.stderr"), background=True)
        time.sleep(k / 4000 + 2.0)
        data = os.path.join(out_dir, "perf-idle.data")
        c0, w0 = cpu_ticks([gw.pid]), time.monotonic()
        subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "999", "--call-graph", "dwarf,16384",
                        "-p", str(gw.pid), "-o", data, "--", "sleep", "5"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        c1, w1 = cpu_ticks([gw.pid]), time.monotonic()
        prof["idle_streams"] = k
        prof["idle_cpu_cores"] = round((c1 - c0) / CLK_TCK / (w1 - w0), 4)
        perf_report(data, os.path.join(out_dir, "perf-idle-self.txt"),
                    ["--no-children", "--sort", "dso,symbol", "-g", "none", "--percent-limit", "1"])
        perf_report(data, os.path.join(out_dir, "perf-idle-callers.txt"),
                    ["--no-children", "--sort", "symbol", "--percent-limit", "2",
                     "-g", "caller,0.5,callee,function,percent"])
        client.kill()
        client.wait(10)
        procs.stop(gw)
        log(f"profile: {k} idle streams: llmgw used {prof['idle_cpu_cores']} cores between events "
            f"(perf-idle-self.txt)")
    else:
        prof["notes"].append("perf not found")

    if shutil.which("strace"):
        # system calls per request: llmgw --threads 1 and nginx 1 worker, wrk -c4 for 3 s each
        nport = free_ports(1)[0]
        gw = start_llmgw(procs, a.llmgw, run_dir, "prof-strace-llmgw", gport, mport, 1,
                         gateway_toml=NO_BUSY_POLL)
        ng = start_nginx(procs, run_dir, "prof-strace-nginx", nport, mport, 1)
        prof["syscalls_per_request"] = {}
        for name, port, pids in (("llmgw", gport, [gw.pid]), ("nginx", nport, children(ng.pid))):
            tt = Target(name, name, port, PREFIX)
            tt.pid_fn = lambda pids=pids: pids
            run_wrk(tt, 4, 1)
            path = os.path.join(out_dir, f"strace-{name}.txt")
            st = subprocess.Popen(["strace", "-c", "-f", "-o", path] + sum((["-p", str(p)] for p in pids), []),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            res = run_wrk(tt, 4, 3)
            time.sleep(0.3)
            st.send_signal(signal.SIGINT)
            st.wait(30)
            counts = strace_counts(path)
            n = res.get("requests") or 1
            prof["syscalls_per_request"][name] = {
                "requests": res.get("requests"), "total": round(sum(counts.values()) / n, 2),
                "by_call": {k: round(v / n, 2) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])
                            if v / n >= 0.05}}
        procs.stop(gw)
        procs.stop(ng)
        log("profile: system calls per request " + ", ".join(
            f"{k} {v['total']}" for k, v in prof["syscalls_per_request"].items()))
    else:
        prof["notes"].append("strace not found: no system-call counts")

    if shutil.which("valgrind") and shutil.which("callgrind_control"):
        cg_out = os.path.join(out_dir, "callgrind.out")
        for f in os.listdir(out_dir):
            if f.startswith("callgrind.out"):
                os.remove(os.path.join(out_dir, f))
        gw = start_llmgw(procs, a.llmgw, run_dir, "prof-callgrind", gport, mport, 1,
                         gateway_toml=NO_BUSY_POLL, wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg_out}.%p",
                                  "--dump-instr=no", "--collect-jumps=no"])
        t.pid_fn = lambda: [gw.pid]
        run_wrk(t, 4, 2)  # warm: connections, curl handles, allocator
        subprocess.run(["callgrind_control", "-z", str(gw.pid)], capture_output=True, timeout=60)
        res = run_wrk(t, 4, a.profile_dur)
        subprocess.run(["callgrind_control", "-d", "bench", str(gw.pid)], capture_output=True, timeout=60)
        prof["callgrind_wrk"] = res
        dumps = sorted(f for f in os.listdir(out_dir) if f.startswith("callgrind.out") and f.endswith(".1"))
        procs.stop(gw, grace=30)
        if dumps and res.get("requests"):
            dump = os.path.join(out_dir, dumps[-1])
            ir = None
            with open(dump) as f:
                for line in f:
                    if line.startswith("summary:") or line.startswith("totals:"):
                        ir = int(line.split()[1])
            prof["callgrind_ir_total"] = ir
            prof["callgrind_requests"] = res["requests"]
            prof["ir_per_request"] = round(ir / res["requests"]) if ir else None
            ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99", dump],
                                 capture_output=True, text=True, timeout=300)
            with open(os.path.join(out_dir, "callgrind-inclusive.txt"), "w") as f:
                f.write(ann.stdout)
            top = callgrind_self(dump)
            with open(os.path.join(out_dir, "callgrind-self.txt"), "w") as f:
                f.write(f"self instructions (Ir) per function, {res['requests']} requests\n")
                for ir_fn, name in top:
                    f.write(f"{ir_fn:>14,} {100.0 * ir_fn / ir:6.2f}% {ir_fn / res['requests']:>9,.0f}/req  {name}\n")
            prof["callgrind_self_top"] = [[round(x / res["requests"]), n] for x, n in top[:25]]
            log(f"profile: callgrind {prof['ir_per_request']:,} instructions per request "
                f"({res['requests']} requests)")
        else:
            prof["notes"].append(f"callgrind: no dump or no requests ({dumps}, {res})")
    else:
        prof["notes"].append("valgrind/callgrind_control not found")
    procs.stop(mock)
    with open(os.path.join(out_dir, "profile.json"), "w") as f:
        json.dump(prof, f, indent=2)
    return prof


# ------------------------------------------------------------------ main

def machine_info():
    info = {"kernel": platform.release(), "host": platform.node(), "cpus": os.cpu_count(),
            "loadavg_start": os.getloadavg()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["mem_total_kb"] = int(f.readline().split()[1])
    except OSError:
        pass
    for prog, argv in (("nginx", [NGINX, "-v"]), ("wrk", [WRK, "-v"]), ("cc", ["cc", "--version"])):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            info[prog] = (p.stdout + p.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            info[prog] = None
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llmgw", required=True, help="the llmgw binary under test")
    ap.add_argument("--helpers", required=True, help="folder with mock_upstream and stream_client")
    ap.add_argument("--out", required=True, help="raw + summary JSON")
    ap.add_argument("--smoke", action="store_true", help="each phase briefly; fail on any wrong answer")
    ap.add_argument("--profile", action="store_true", help="only the perf/callgrind profile of llmgw")
    ap.add_argument("--phases", default="throughput,latency,sse,scale,call")
    ap.add_argument("--targets", default="direct,control,nginx,llmgw,nginx-1w,llmgw-1t")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--tp-dur", type=int, default=5)
    ap.add_argument("--tp-conns", type=int, default=64)
    ap.add_argument("--lat-dur", type=int, default=4)
    # More than --rounds: its verdicts are the closest (5 rounds once gave llmgw the lower
    # 16-connection p50 in 4 of them and the higher median).
    ap.add_argument("--lat-rounds", type=int, default=9)
    ap.add_argument("--lat-conns", default="1,16")
    ap.add_argument("--sse-rounds", type=int, default=7)
    ap.add_argument("--sse-streams", default="200,1000")
    ap.add_argument("--sse-events", type=int, default=50)
    ap.add_argument("--sse-delay", type=int, default=20)
    ap.add_argument("--scale-streams", type=int, default=10000)
    ap.add_argument("--scale-hold", type=int, default=30)
    ap.add_argument("--scale-ramp", type=int, default=4000, help="streams opened per second")
    ap.add_argument("--call-runs", type=int, default=20)
    ap.add_argument("--call-warmup", type=int, default=3)
    ap.add_argument("--profile-dur", type=int, default=10)
    ap.add_argument("--profile-idle-streams", type=int, default=2000)
    ap.add_argument("--max-seconds", type=int, default=1200, help="phases not started by then are cut")
    ap.add_argument("--keep", action="store_true", help="keep the run folder (logs, rendered configs)")
    a = ap.parse_args()
    if a.smoke:
        a.rounds, a.tp_dur, a.lat_dur, a.lat_conns, a.lat_rounds = 1, 1, 1, "1,16", 1
        a.sse_rounds, a.sse_streams, a.sse_events, a.sse_delay = 1, "20", 5, 10
        a.scale_streams, a.scale_hold, a.scale_ramp = 50, 2, 1000
        a.call_runs, a.call_warmup = 3, 1
    a.lat_conns = [int(x) for x in a.lat_conns.split(",") if x]
    a.sse_streams = [int(x) for x in a.sse_streams.split(",") if x]
    a.phases = [p for p in a.phases.split(",") if p]
    a.targets = [t for t in a.targets.split(",") if t]
    a.llmgw = os.path.abspath(a.llmgw)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by everything below
    cpus = sorted(os.sched_getaffinity(0))
    unpinnable = []
    if len(cpus) < 2 or 0 not in cpus or 1 not in cpus:
        unpinnable = [t for t in a.targets if t in ("nginx-1w", "llmgw-1t")]
        a.targets = [t for t in a.targets if t not in unpinnable]
    for prog in (WRK, NGINX, "curl", "taskset"):
        if not shutil.which(prog):
            raise SystemExit(f"bench: {prog} not found (scripts/bootstrap installs it)")

    run_dir = tempfile.mkdtemp(prefix="llmgw-bench.")
    os.makedirs(os.path.join(run_dir, "xdg"), exist_ok=True)
    procs = Procs()

    def on_signal(sig, _):
        raise SystemExit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    deadline = T_START + a.max_seconds
    try:
        if a.profile:
            prof = phase_profile(a, procs, run_dir, os.path.join(os.path.dirname(a.out), "profile"))
            print(json.dumps({k: v for k, v in prof.items() if k not in ("perf_wrk", "callgrind_wrk")}, indent=1))
            return 0

        raw = {"meta": {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "mode": "smoke" if a.smoke else "full",
                        "llmgw": a.llmgw, "args": {k: v for k, v in vars(a).items()}, "machine": machine_info()},
               "throughput": [], "latency": [], "sse": [], "scale": [], "notes": [], "checks": {}}
        if unpinnable:
            raw["notes"].append(f"{', '.join(unpinnable)} not run: they need CPUs 0 and 1 (this "
                                f"process may use {cpus}); no per-core figure")
        mport, p_control, p_nginx, p_llmgw, p_nginx1, p_llmgw1 = free_ports(6)
        log(f"run folder {run_dir}; targets {','.join(a.targets)}; phases {','.join(a.phases)}")
        mock = MockKeeper(procs, a.helpers, run_dir, mport)
        targets = {}
        t = Target("direct", "direct (mock)", mport, "")
        t.pid_fn = lambda: [mock.pid]
        targets["direct"] = t
        if "control" in a.targets and "sse" in a.phases:  # measured there only
            c = start_mock(procs, a.helpers, run_dir, p_control, tag="mock-control")
            t = Target("control", "control (a second mock, direct)", p_control, "")
            t.pid_fn = lambda c=c: [c.pid]
            targets["control"] = t
        if "nginx" in a.targets:
            g = start_nginx(procs, run_dir, "nginx", p_nginx, mport, 2)
            t = Target("nginx", "nginx 2 workers", p_nginx, PREFIX)
            t.proc, t.pid_fn = g, (lambda g=g: children(g.pid))
            targets["nginx"] = t
        if "llmgw" in a.targets:
            g = start_llmgw(procs, a.llmgw, run_dir, "llmgw", p_llmgw, mport, 2)
            t = Target("llmgw", "llmgw --threads 2", p_llmgw, PREFIX)
            t.proc, t.pid_fn = g, (lambda g=g: [g.pid])
            targets["llmgw"] = t
        if "nginx-1w" in a.targets:
            g = start_nginx(procs, run_dir, "nginx-1w", p_nginx1, mport, 1, cpus={0})
            t = Target("nginx-1w", "nginx 1 worker, CPU 0", p_nginx1, PREFIX, pinned=True)
            t.proc, t.pid_fn = g, (lambda g=g: children(g.pid))
            targets["nginx-1w"] = t
        if "llmgw-1t" in a.targets:
            g = start_llmgw(procs, a.llmgw, run_dir, "llmgw-1t", p_llmgw1, mport, 1, cpus={0})
            t = Target("llmgw-1t", "llmgw --threads 1, CPU 0", p_llmgw1, PREFIX, pinned=True)
            t.proc, t.pid_fn = g, (lambda g=g: [g.pid])
            targets["llmgw-1t"] = t
        for name, t in targets.items():
            err = check_target(t)
            raw["checks"][name] = err or "ok"
            if err:
                raise SystemExit(f"bench: {name} answered wrongly: {err}")
        log("every target answered a chat POST and a stream correctly")
        if not a.smoke:
            for t in targets.values():  # warm: connections, upstream pools, allocator caches
                run_wrk(t, 16, 1, loadgen_cpus={1} if t.pinned else None)

        if "throughput" in a.phases:
            phase_throughput(a, targets, mock, raw, deadline)
        if "latency" in a.phases:
            phase_latency(a, targets, mock, raw, deadline)
        if "sse" in a.phases:
            phase_sse(a, targets, mock, raw, deadline)
        if "call" in a.phases:
            phase_call(a, procs, mport, run_dir, raw, deadline)
        procs.stop_all()  # the scale phase starts fresh processes of its own
        if "scale" in a.phases:
            phase_scale(a, procs, run_dir, raw, deadline)
        raw["meta"]["loadavg_end"] = os.getloadavg()
        raw["meta"]["seconds"] = round(time.monotonic() - T_START, 1)

        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)

        def save():
            with open(a.out, "w") as f:
                json.dump(raw, f, indent=1)
                f.write("\n")

        save()  # the raw figures first: a summary that fails loses nothing
        summary = summarize.summarize(raw)
        raw["summary"] = summary
        table = summarize.table(raw, summary)
        raw["table"] = table
        save()
        print(table, flush=True)
        log(f"wrote {a.out}")
        if a.smoke:
            summarize.table(raw, summary, markdown=True)  # the form BENCHMARKS.md takes renders too
            problems = summarize.smoke_problems(raw, summary)
            for p in problems:
                print(f"SMOKE FAIL: {p}", flush=True)
            if problems:
                return 1
            print("bench smoke: every target answered correctly in every phase; table printed", flush=True)
        return 0
    finally:
        procs.stop_all()
        if a.keep:
            log(f"run folder kept: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
