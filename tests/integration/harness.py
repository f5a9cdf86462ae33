"""Starts real processes for integration tests: the mock upstream and `llmgw serve`.

Everything listens on 127.0.0.1 with ports chosen by the kernel; every wait is bounded.
"""
import atexit
import http.client
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import ssl
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

# Proxy settings of the machine running the tests, or LLMGW_UPSTREAM_CLIENT, would send every
# plain http:// upstream request through libcurl: cleared where the native client is expected.
NATIVE_CLIENT_ENV = {name: "" for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                           "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
                                           "LLMGW_UPSTREAM_CLIENT")}


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
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True)
        _CHILDREN.append(self.proc)
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            line = self.proc.stdout.readline() if sel.select(15) else "(nothing in 15 s)"
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError("mock upstream did not start: %r" % line)
        self.port = int(line.split()[1])
        self.tls = "--tls" in args
        self.host = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"

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
    """`llmgw serve` with a config that points the `mock` service at the mock upstream."""

    def __init__(self, mock_port, extra_toml="", env=None, args=(), services_toml=None,
                 soft_nofile=None):
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

[services.nowhere]
base_url = "http://llmgw-test.invalid"
max_retries = 0
"""
        with open(self.config, "w") as f:
            f.write(toml + "\n" + extra_toml)
        self.log_path = os.path.join(self.dir, "gateway.log")
        self.log_file = open(self.log_path, "w+")
        # This machine's certificate and libcurl choices would decide outcomes (serve refuses
        # to start over an unusable CA variable): a test names them when it wants them.
        full_env = {k: v for k, v in os.environ.items() if k not in (
            "LLMGW_CONFIG", "LLMGW_LIBCURL", "CURL_CA_BUNDLE", "SSL_CERT_DIR", "SSL_CERT_FILE")}
        full_env["XDG_CONFIG_HOME"] = self.dir
        full_env.update(env or {})
        def limit_open_files():  # in the child, before exec: the soft limit it starts with
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (soft_nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

        self.proc = subprocess.Popen(
            [LLMGW, "serve", "--port", "0", "--config", self.config, "--log-level", "debug",
             *args],
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
        with open(self.log_path) as f:
            return f.read()

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

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        return self.proc.returncode


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


def raw_request(port, data, timeout=10, read_until_close=True):
    """Sends raw bytes; returns everything read until close or timeout."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    chunks = []
    try:
        while True:
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

    @classmethod
    def extra_toml(cls, mock_port):
        return ""

    @classmethod
    def setUpClass(cls):
        cls.mock = Mock()
        cls.gw = Gateway(cls.mock.port, extra_toml=cls.extra_toml(cls.mock.port),
                         env=cls.gateway_env, args=cls.gateway_args)

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        cls.mock.stop()

    def setUp(self):
        self.mock.reset()
