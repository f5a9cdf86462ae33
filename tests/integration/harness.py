"""Starts real processes for integration tests: the mock upstream and `llmgw serve`.

Everything listens on 127.0.0.1 with ports chosen by the kernel; every wait is bounded.
"""
import atexit
import functools
import http.client
import json
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
LLMGW = os.environ.get("LLMGW_BIN", "llmgw")
# Set by ctest for a build that links libcurl instead of opening it when needed (macOS, or
# LLMGW_LIBCURL_DLOPEN off): the tests of opening it are skipped there.
LIBCURL_LINKED = os.environ.get("LLMGW_LIBCURL_LINKED") == "1"

# The proxy variables libcurl reads. Every gateway the harness starts runs without the ones of
# the machine running the tests (a proxy there would carry, or refuse, the requests to the
# mocks); a test that wants a proxy names it in the gateway's `env`.
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                   "ALL_PROXY", "no_proxy", "NO_PROXY")

# Proxy settings, or LLMGW_UPSTREAM_CLIENT, would send every plain http:// upstream request
# through libcurl: cleared where the native client is expected.
NATIVE_CLIENT_ENV = {name: "" for name in (*PROXY_VARIABLES, "LLMGW_UPSTREAM_CLIENT")}

# CI (CI=true, .ci/run) runs as root on a machine scripts/bootstrap provisioned: there a test
# that cannot run for a missing tool or privilege fails with the reason it would have been
# skipped for, instead of passing silently.
CI = os.environ.get("CI") == "true"


def dechunk(data):
    """(body, complete, leftover): complete only when the terminating 0-size chunk arrived."""
    body, pos = b"", 0
    while True:
        nl = data.find(b"\r\n", pos)
        if nl < 0:
            return body, False, b""
        size = int(data[pos:nl].split(b";")[0], 16)
        start = nl + 2
        if size == 0:
            if data[start:start + 2] == b"\r\n":
                return body, True, data[start + 2:]
            return body, False, b""
        if len(data) < start + size + 2:
            return body + data[start:], False, b""
        body += data[start:start + size]
        pos = start + size + 2


def skip_or_fail(test, reason):
    """Skips `test` (a TestCase) for a missing tool or privilege; fails it under CI=true."""
    if CI:
        test.fail("CI=true, so this is a failure, not a skip: " + reason)
    test.skipTest(reason)


def needs(condition, reason):
    """unittest.skipUnless(condition, reason) for a missing tool or privilege, on a test method
    or a class; under CI=true the test (or the class's setUpClass) fails instead."""
    if condition:
        return lambda obj: obj
    if not CI:
        return unittest.skip(reason)
    message = "CI=true, so this is a failure, not a skip: " + reason

    def fail_instead(obj):
        if isinstance(obj, type):
            def set_up_class(cls):
                raise AssertionError(message)
            obj.setUpClass = classmethod(set_up_class)
            return obj

        @functools.wraps(obj)
        def failing(*_args, **_kwargs):
            raise AssertionError(message)
        return failing
    return fail_instead


# What a sanitizer (ASan, UBSan, LSan, TSan) writes to stderr when it reports: none may appear
# in a gateway's log.
SANITIZER_MARKERS = ("Sanitizer", "runtime error:", "LeakSanitizer", "ThreadSanitizer")


def exit_problems(status, log, expect_status=0):
    """What is wrong with how a process ended: its exit status is not `expect_status`, or its
    stderr (`log`) holds a sanitizer report. [] when nothing is."""
    problems = []
    if status != expect_status:
        problems.append(f"exit status {status}, expected {expect_status}")
    found = [m for m in SANITIZER_MARKERS if m in log]
    if found:
        problems.append("a sanitizer report in its stderr (%s)" % ", ".join(found))
    return problems


def describe_exit(what, problems, log):
    """The message of the failure exit_problems() found: the problems, then the part of the log
    that shows them (from the first sanitizer report, or the tail)."""
    at = min([i for i in (log.find(m) for m in SANITIZER_MARKERS) if i >= 0], default=-1)
    shown = log[max(0, at - 2000):at + 12000] if at >= 0 else log[-4000:]
    return f"{what}: {'; '.join(problems)}\n---- its log ----\n{shown}"


# ---- a private resolver: DNS failures without a query leaving loopback ----

class _NxdomainServer:
    """A DNS server on UDP port 53 of a loopback address of its own (127.a.b.c; the whole of
    127/8 is loopback on Linux) that answers every query NXDOMAIN, in a thread of this test
    process. Needs root (port 53)."""

    def __init__(self):
        rng = random.Random()
        self.sock = None
        for _ in range(20):
            address = "127.%d.%d.%d" % (rng.randint(1, 254), rng.randint(1, 254), rng.randint(2, 254))
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                sock.bind((address, 53))
            except OSError:
                sock.close()
                continue
            self.sock, self.address = sock, address
            break
        if self.sock is None:
            raise OSError("could not bind UDP port 53 on a loopback address")
        self.names = []  # every name asked, in order
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                query, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            answer = self.nxdomain(query)
            if answer is None:
                continue
            try:
                self.sock.sendto(answer, peer)
            except OSError:
                pass

    def nxdomain(self, query):
        """The NXDOMAIN answer to `query` (its id, flags with QR, RA and RCODE 3, its question
        and nothing else), or None for what is not one standard query."""
        if len(query) < 12 or query[2] & 0x80 or int.from_bytes(query[4:6], "big") != 1:
            return None
        pos, labels = 12, []
        while pos < len(query) and query[pos] != 0:
            n = query[pos]
            if n & 0xC0:
                return None
            labels.append(query[pos + 1:pos + 1 + n].decode("ascii", "replace"))
            pos += 1 + n
        end = pos + 5  # the root label, QTYPE and QCLASS
        if end > len(query):
            return None
        with self.lock:
            self.names.append(".".join(labels))
        flags = bytes([0x80 | (query[2] & 0x79), 0x80 | 3])  # QR, opcode and RD kept; RA; NXDOMAIN
        return query[:2] + flags + b"\x00\x01\x00\x00\x00\x00\x00\x00" + query[12:end]


_private_dns = {}  # "server": _NxdomainServer, "dir": files; or "error": why there is none


def _private_dns_setup():
    if _private_dns:
        return _private_dns
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("unshare", "mount", "sh")):
        _private_dns["error"] = ("needs root, unshare(1) and mount(8) for a private resolver "
                                 "(a mount namespace whose /etc/resolv.conf names a server on "
                                 "loopback)")
        return _private_dns
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=30)
    if probe.returncode != 0:
        _private_dns["error"] = "this system does not let unshare(1) make a mount namespace"
        return _private_dns
    try:
        server = _NxdomainServer()
    except OSError as e:
        _private_dns["error"] = f"no private resolver: {e}"
        return _private_dns
    directory = tempfile.mkdtemp(prefix="llmgw-dns-")
    atexit.register(shutil.rmtree, directory, True)
    with open(os.path.join(directory, "resolv.conf"), "w") as f:
        f.write(f"nameserver {server.address}\noptions timeout:2 attempts:2\n")
    with open(os.path.join(directory, "nsswitch.conf"), "w") as f:
        f.write("hosts: files dns\n")  # no nss-resolve, mdns or myhostname of the machine's
    _private_dns.update(server=server, dir=directory)
    return _private_dns


def private_dns_available():
    """Whether private_dns_argv() can be used here (root, unshare(1), port 53 on loopback)."""
    return "server" in _private_dns_setup()


def require_private_dns(test, gw=None):
    """Skips `test` (fails it under CI=true) where there is no private resolver; fails it when
    the gateway `gw` it is about to ask for a name runs without it."""
    if not private_dns_available():
        skip_or_fail(test, _private_dns["error"])
    if gw is not None and not gw.private_dns:
        test.fail("the gateway runs without the private resolver: its lookups would leave loopback")


def private_dns_argv(argv):
    """`argv` run in a mount namespace of its own where /etc/resolv.conf names only the
    harness's NXDOMAIN server (127.a.b.c:53, in this process) and the name service is
    /etc/hosts then DNS (no nscd, no systemd-resolved): a name not in /etc/hosts is NXDOMAIN
    at once, and no query leaves loopback. The process keeps its pid (unshare and sh exec it)
    and the network of the tests. Call require_private_dns() first."""
    setup = _private_dns_setup()
    if "server" not in setup:
        raise RuntimeError(setup["error"])
    script = ('mount --bind "$1/resolv.conf" /etc/resolv.conf && '
              'mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf && '
              '{ [ ! -d /run/nscd ] || mount -t tmpfs none /run/nscd; } && shift && exec "$@"')
    return ["unshare", "-m", "--propagation", "private", "--", "sh", "-c", script, "sh",
            setup["dir"], *argv]


def private_dns_queries():
    """The names the private resolver was asked so far, in order."""
    server = _private_dns_setup().get("server")
    if server is None:
        return []
    with server.lock:
        return list(server.names)


# The service whose host name only the private resolver is asked (and answers NXDOMAIN): in a
# gateway's table only when it runs with private_dns (RFC 6761 §6.4: .invalid).
NOWHERE_TOML = """
[services.nowhere]
base_url = "http://llmgw-test.invalid"
max_retries = 0
"""


def make_self_signed(directory, ip="127.0.0.1", name=None):
    """A throwaway self-signed certificate for the address `ip` (or the host name `name`), made
    with the openssl CLI: (cert path, key path)."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    san = f"DNS:{name}" if name else f"IP:{ip}"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={name or ip}", "-addext", f"subjectAltName={san}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    return cert, key


# Every mock and gateway process a test started: any still running when the test process ends
# (a failed setUpClass skips its tearDownClass) is killed then, not left behind.
_CHILDREN = []


def _kill_children():
    for proc in _CHILDREN:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


atexit.register(_kill_children)


# Sockets bound and never listening, one per dead_port(), open until this test process ends.
_DEAD_PORTS = []


def dead_port():
    """A port of 127.0.0.1 where nothing listens while this test process runs: a connection to it
    is refused. Bound and held (without SO_REUSEADDR), so that no server of a test running at the
    same time can take it, as one did when the port was only picked and let go (the "dead"
    service then answered 404 from another test's mock)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _DEAD_PORTS.append(s)
    return s.getsockname()[1]


class Mock:
    """mock_upstream.py in its own process, with extra arguments (e.g. --tls CERT KEY); or,
    with `argv`, another mock that also prints "PORT n" once it listens (tls_mock.mjs)."""

    def __init__(self, *args, argv=None):
        argv = argv or [sys.executable, os.path.join(HERE, "mock_upstream.py"), *args]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        _CHILDREN.append(self.proc)
        line = self._first_line(15)
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError("mock upstream did not start: %r" % line)
        self.port = int(line.split()[1])
        self.tls = "--tls" in args
        self.host = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"

    def _first_line(self, timeout):
        """The first line the mock prints, read as it arrives within `timeout` seconds (a
        readline() could wait forever on a line begun and never ended)."""
        deadline = time.monotonic() + timeout
        fd, got = self.proc.stdout.fileno(), b""
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in got:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return "(no whole line in %s s: %r)" % (timeout, got)
                piece = os.read(fd, 4096)
                if not piece:
                    return "(exited after %r)" % got
                got += piece
        return got.split(b"\n", 1)[0].decode("utf-8", "replace")

    def get(self, path):
        if self.tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # our own throwaway certificate
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=10, context=ctx)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("GET", path)
        data = conn.getresponse().read()
        conn.close()
        return json.loads(data)

    def requests(self):
        return self.get("/__mock/requests")

    def closed(self):
        return self.get("/__mock/closed")

    def reset(self):
        self.get("/__mock/reset")

    def wait_for_requests(self, timeout=10):
        """The requests recorded, once there is one (a request reached the upstream); fails
        (AssertionError) after `timeout` seconds without any."""
        deadline = time.monotonic() + timeout
        while not (records := self.requests()):
            if time.monotonic() > deadline:
                raise AssertionError("no request reached the mock within %s s" % timeout)
            time.sleep(0.02)
        return records

    def stop(self):
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()


class TunnelProxy(Mock):
    """tunnel_proxy.py (SOCKS5 and HTTP CONNECT, to loopback only) in its own process, with a
    log of the tunnels asked for in a temporary file of its own."""

    def __init__(self):
        self.log_dir = tempfile.mkdtemp(prefix="llmgw-tunnels-")
        self.log_path = os.path.join(self.log_dir, "tunnels.jsonl")
        super().__init__(argv=[sys.executable, os.path.join(HERE, "tunnel_proxy.py"), "--log",
                               self.log_path])

    def tunnels(self):
        """Each tunnel asked for, in order: {"atyp", "host", "port"} or {"connect": "H:P"}."""
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [json.loads(line) for line in f]

    def stop(self):
        super().stop()
        shutil.rmtree(self.log_dir, ignore_errors=True)


class Gateway:
    """`llmgw serve` with a config that points the `mock` service at the mock upstream.

    private_dns: run it with the harness's private resolver (private_dns_argv; the caller
    checks private_dns_available() or require_private_dns() first), with the `nowhere` service
    (NOWHERE_TOML) in its table, whose name that resolver answers NXDOMAIN."""

    def __init__(self, mock_port, extra_toml="", env=None, args=(), services_toml=None,
                 soft_nofile=None, private_dns=False):
        self.private_dns = private_dns
        self._checked = False
        self.dir = tempfile.mkdtemp(prefix="llmgw-it-")
        self.config = os.path.join(self.dir, "config.toml")
        nowhere_port = dead_port()
        toml = services_toml if services_toml is not None else f"""
[services.mock]
base_url = "http://127.0.0.1:{mock_port}"
aliases = ["mock-alias"]
headers = {{ "x-default-header" = "from-config" }}
timeout_ms = 5000
max_retries = 1

[services.mockbase]
base_url = "http://127.0.0.1:{mock_port}/base/path"

[services.dead]
base_url = "http://127.0.0.1:{nowhere_port}"
max_retries = 0
"""
        if private_dns:
            toml += NOWHERE_TOML
        with open(self.config, "w") as f:
            f.write(toml + "\n" + extra_toml)
        self.log_path = os.path.join(self.dir, "gateway.log")
        self.log_file = open(self.log_path, "w+")
        # This machine's certificate and libcurl choices would decide outcomes (serve refuses
        # to start over an unusable CA variable): a test names them when it wants them.
        # The proxy variables too: a test that wants a proxy names it in `env`.
        full_env = {k: v for k, v in os.environ.items() if k not in (
            "LLMGW_CONFIG", "LLMGW_LIBCURL", "CURL_CA_BUNDLE", "SSL_CERT_DIR", "SSL_CERT_FILE",
            *PROXY_VARIABLES)}
        full_env["XDG_CONFIG_HOME"] = self.dir
        full_env.update(env or {})
        def limit_open_files():  # in the child, before exec: the soft limit it starts with
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (soft_nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

        argv = [LLMGW, "serve", "--port", "0", "--config", self.config, "--log-level", "debug",
                *args]
        self.proc = subprocess.Popen(
            private_dns_argv(argv) if private_dns else argv,
            stdout=subprocess.DEVNULL, stderr=self.log_file, env=full_env,
            preexec_fn=limit_open_files if soft_nofile is not None else None)
        _CHILDREN.append(self.proc)
        try:
            self.port = self._wait_for_port()
        except RuntimeError:
            self.proc.kill()
            self.proc.wait()
            self.log_file.close()
            raise

    def _wait_for_port(self):
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("llmgw serve exited early:\n" + self.log())
            m = re.search(r'(?:url=|"url":)"?http://127\.0\.0\.1:(\d+)', self.log())
            if m:
                return int(m.group(1))
            time.sleep(0.05)
        raise RuntimeError("llmgw serve did not start:\n" + self.log())

    def log(self):
        """The log's whole lines: a line the gateway is writing at this moment is left out
        (read half-written, "status=200" could be missing from a request line)."""
        with open(self.log_path) as f:
            text = f.read()
        return text[:text.rfind("\n") + 1]

    def conn(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=30):
        """Returns (status, headers dict lower-case, body bytes)."""
        c = self.conn(timeout)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def stop(self, sig=signal.SIGTERM, timeout=20, expect_status=0):
        """Stops the gateway with `sig` (if it still runs; SIGKILL after `timeout` seconds) and
        returns its exit status, once it is checked: fails (AssertionError) unless the gateway
        exited by itself with `expect_status` (0, a drained exit; 1 after a second signal) and
        its log holds no sanitizer report (one at exit, as LeakSanitizer's, or during the drain
        and teardown is seen here and nowhere else). Checked at the first call only; a later
        one returns the status."""
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                killed = True
        self.log_file.close()
        status = self.proc.returncode
        if self._checked:
            return status
        self._checked = True
        log = self.log()
        problems = exit_problems(status, log, expect_status)
        if killed:
            problems.insert(0, f"still running {timeout} s after signal {int(sig)}: killed")
        if problems:
            raise AssertionError(describe_exit(f"llmgw serve (pid {self.proc.pid})", problems, log))
        return status


def uses_mimalloc(path=None):
    """True when the gateway binary runs on mimalloc (LLMGW_MIMALLOC, the default build)."""
    env = dict(os.environ, MIMALLOC_VERBOSE="1")
    proc = subprocess.run([path or LLMGW, "--version"], capture_output=True, text=True, env=env,
                          timeout=30)
    return "mimalloc: process init" in proc.stderr


def is_sanitized(path=None):
    """True when the gateway binary is built with a sanitizer: its RSS says nothing then (ASan
    keeps freed memory in quarantine), so memory bounds are not asserted."""
    path = path or LLMGW
    path = shutil.which(path) or path
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return any(m in data for m in (b"__asan_init", b"__tsan_init", b"__msan_init"))


def proc_status_number(pid, field):
    """The number a line `field:` of /proc/PID/status starts with (VmRSS in KiB, FDSize, ...)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def proc_rss_kb(pid):
    return proc_status_number(pid, "VmRSS")


def proc_fd_table_slots(pid):
    """The size of process `pid`'s descriptor table (FDSize: slots, open or not)."""
    return proc_status_number(pid, "FDSize")


def proc_cpu_ticks(pid):
    """User plus system CPU time of process `pid` so far, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def tcp_socket_rows(tables=("/proc/net/tcp", "/proc/net/tcp6")):
    """The fields of each TCP socket on this machine, as /proc/net/tcp lists them
    (2: remote address:port in hex, 3: state, 9: inode)."""
    for table in tables:
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    yield line.split()
        except OSError:
            pass


def unread_bytes(local_port, remote_port):
    """Bytes waiting in the receive queue of the TCP socket 127.0.0.1:local_port whose peer is
    127.0.0.1:remote_port (what its process has not read yet), or None without one."""
    for row in tcp_socket_rows(("/proc/net/tcp",)):
        if (int(row[1].split(":")[1], 16) == local_port and
                int(row[2].split(":")[1], 16) == remote_port):
            return int(row[4].split(":")[1], 16)
    return None


def wait_read_by_gateway(gw, client, timeout=5.0):
    """Waits until the gateway has read everything the client socket `client` sent it (its end
    of the connection has nothing left to read); fails (AssertionError) after `timeout`."""
    client_port = client.getsockname()[1]
    deadline = time.monotonic() + timeout
    while unread_bytes(gw.port, client_port) != 0:
        if time.monotonic() > deadline:
            raise AssertionError("the gateway did not read what was sent within %s s (%r unread)"
                                 % (timeout, unread_bytes(gw.port, client_port)))
        time.sleep(0.01)


def wait_log_line(gw, pattern, timeout=5.0):
    """The first line of the gateway's log that matches the regex `pattern`, waiting up to
    `timeout` seconds for it; fails (AssertionError) without one."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        for line in gw.log().splitlines():
            if rx.search(line):
                return line
        if time.monotonic() > deadline:
            raise AssertionError("no log line matches %r within %s s; log tail:\n%s"
                                 % (pattern, timeout, gw.log()[-3000:]))
        time.sleep(0.02)


def listening_socket_inodes():
    """Inodes of the TCP sockets in LISTEN state on this machine."""
    return {row[9] for row in tcp_socket_rows() if row[3] == "0A"}


def client_sockets_per_loop(pid):
    """For each event loop of process `pid` (each epoll instance), how many sockets it watches
    other than a listening one, sorted: [loop with fewest, ..., most]."""
    return sorted(clients for clients, _ in sockets_per_loop(pid))


def loops_watching_a_listener(pid):
    """How many event loops of process `pid` watch a listening socket."""
    return sum(1 for _, listeners in sockets_per_loop(pid) if listeners)


def sockets_per_loop(pid):
    """(other sockets, listening sockets) watched by each epoll instance of process `pid`."""
    listening = {f"socket:[{i}]" for i in listening_socket_inodes()}
    counts = []
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        try:
            if os.readlink(f"{fd_dir}/{name}") != "anon_inode:[eventpoll]":
                continue
            with open(f"/proc/{pid}/fdinfo/{name}") as f:
                watched = [line.split()[1] for line in f if line.startswith("tfd:")]
        except OSError:
            continue
        clients = listeners = 0
        for tfd in watched:
            try:
                target = os.readlink(f"{fd_dir}/{tfd}")
            except OSError:
                continue
            if target in listening:
                listeners += 1
            elif target.startswith("socket:"):
                clients += 1
        counts.append((clients, listeners))
    return counts


def close_wait_sockets(remote_port):
    """TCP sockets in CLOSE_WAIT whose remote end is 127.0.0.1:remote_port: the gateway's ends
    of upstream connections the mock on that port closed (the mock's own sockets have the port
    as their local one)."""
    return sum(1 for row in tcp_socket_rows(("/proc/net/tcp",))
               if int(row[2].split(":")[1], 16) == remote_port and row[3] == "08")


def read_to_end(sock, timeout=10.0):
    """Reads until the peer closes, resets or `timeout` passes: (bytes, 'eof'|'reset'|'timeout')."""
    deadline = time.monotonic() + timeout
    chunks = []
    how = "timeout"
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            sock.settimeout(left)
            try:
                b = sock.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, BrokenPipeError):
                how = "reset"
                break
            if not b:
                how = "eof"
                break
            chunks.append(b)
    finally:
        sock.close()
    return b"".join(chunks), how


def recv_until(sock, marker, timeout=10.0):
    """Reads from `sock` until `marker` has arrived; fails (AssertionError) if the peer closes
    first or `timeout` passes. Returns everything read."""
    deadline = time.monotonic() + timeout
    got = b""
    while marker not in got:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no %r within %.1f s; got %r" % (marker, timeout, got[-300:]))
        sock.settimeout(left)
        try:
            b = sock.recv(4096)
        except socket.timeout:
            continue
        if not b:
            raise AssertionError("closed before %r; got %r" % (marker, got[-300:]))
        got += b
    return got


def together_request(service):
    """A streamed chat POST to `service` whose mock writes its head with the first of three
    events, and the last event with [DONE] and the last chunk, each in one write."""
    return (b"POST /gateway/" + service.encode() + b"/v1/chat/completions HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nx-mock: sse;events=3;interval_ms=100;together=1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 16\r\n"
            b"Connection: close\r\n\r\n{\"stream\": true}")


def segments_of_answer(port, data, timeout=10):
    """Sends raw bytes and reads until close: (the bytes, how many TCP segments carrying data
    brought them). On loopback each write of the peer is one segment (struct tcp_info's
    tcpi_data_segs_in, Linux 4.6+)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        answer = b""
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            answer += piece
        info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    finally:
        s.close()
    return answer, struct.unpack_from("I", info, 152)[0]


def raw_request(port, data, timeout=10, read_until_close=True):
    """Sends raw bytes; returns everything read until close or `timeout` seconds in all (not
    per read: a peer that trickles bytes cannot hold it longer)."""
    deadline = time.monotonic() + timeout
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    chunks = []
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
            if not read_until_close:
                break
    except socket.timeout:
        pass
    finally:
        s.close()
    return b"".join(chunks)


class SharedGatewayTest(unittest.TestCase):
    """One mock upstream and one gateway for the whole class; the mock's records are cleared
    before each test. A class adds services or settings by overriding extra_toml()."""

    gateway_env = None  # extra environment of the gateway
    gateway_args = ()   # extra `llmgw serve` arguments
    # With the private resolver (and the `nowhere` service) where there is one: a test of a
    # DNS failure checks self.gw.private_dns (require_private_dns).
    gateway_private_dns = False

    @classmethod
    def extra_toml(cls, mock_port):
        return ""

    @classmethod
    def setUpClass(cls):
        cls.mock = Mock()
        cls.gw = Gateway(cls.mock.port, extra_toml=cls.extra_toml(cls.mock.port),
                         env=cls.gateway_env, args=cls.gateway_args,
                         private_dns=cls.gateway_private_dns and private_dns_available())

    @classmethod
    def tearDownClass(cls):
        # A gateway that ends badly (exit status, sanitizer report) fails here: unittest reports
        # an error in tearDownClass, and the run fails.
        try:
            cls.gw.stop()
        finally:
            cls.mock.stop()

    def setUp(self):
        self.mock.reset()
