"""Integration tests of https:// upstreams (libcurl over TLS) and the certificates they are
checked against (src/upstream/ca_trust.hpp): CURL_CA_BUNDLE, else SSL_CERT_DIR, else
SSL_CERT_FILE, as the curl tool reads them; the file or directory named that cannot be used stops
`serve` and `call` with status 2 before any request.

A real `llmgw serve` (and `llmgw call`) against the mock upstream serving HTTPS with a
throwaway self-signed certificate for 127.0.0.1, made with the openssl CLI.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

import harness

# The machine's own settings would decide the outcome: every test names what it wants.
NO_CA_ENV = {"CURL_CA_BUNDLE": "", "SSL_CERT_FILE": "", "SSL_CERT_DIR": "", "LLMGW_LIBCURL": ""}


def tls_env(extra=None, process=False):
    """The variables a gateway (or, `process`: a whole environment for llmgw call) starts with:
    no proxy, no certificates of this machine's, then `extra`."""
    return {**(os.environ if process else {}), **harness.NATIVE_CLIENT_ENV, **NO_CA_ENV,
            **(extra or {})}

TLS_TOML = """
[services.tls]
base_url = "https://127.0.0.1:{port}"
timeout_ms = 5000
max_retries = 0
"""

SSE_EVENTS = 4


def expected_sse_body():
    """The bytes of the mock's `sse;events=4` answer once dechunked, [DONE] included."""
    body = b""
    for i in range(SSE_EVENTS):
        payload = json.dumps({"choices": [{"delta": {"content": f"tok{i} "}}], "i": i})
        body += f"data: {payload}\n\n".encode()
    return body + b"data: [DONE]\n\n"


@harness.needs(shutil.which("openssl"), "the openssl CLI makes the test certificate")
class UpstreamTlsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="llmgw-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.cert, key = harness.make_self_signed(cls.tmp)
        cls.hashed_dir = os.path.join(cls.tmp, "hashed")
        os.mkdir(cls.hashed_dir)
        shutil.copy(cls.cert, cls.hashed_dir)
        subprocess.run(["openssl", "rehash", cls.hashed_dir], check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.mock = harness.Mock("--tls", cls.cert, key)
        cls.addClassCleanup(cls.mock.stop)
        cls.toml = TLS_TOML.format(port=cls.mock.port)
        cls.config = os.path.join(cls.tmp, "config.toml")
        with open(cls.config, "w") as f:
            f.write(cls.toml)

    def gateway(self, ca_env):
        return harness.Gateway(self.mock.port, extra_toml=self.toml,
                               env=tls_env(ca_env))

    def stream_through(self, gw):
        """POSTs a streamed chat request to the tls service: (status, headers, body)."""
        request_id = str(uuid.uuid4())
        status, headers, body = gw.request(
            "POST", "/gateway/tls/v1/chat/completions?mock=sse;events=4;interval_ms=20",
            body=b'{"stream":true}',
            headers={"Content-Type": "application/json", "X-Request-Id": request_id})
        return status, headers, body, request_id

    def assert_relayed(self, gw):
        status, headers, body, request_id = self.stream_through(gw)
        self.assertEqual(status, 200, body[:400])
        self.assertEqual(headers.get("content-type"), "text/event-stream")
        self.assertEqual(body, expected_sse_body())
        seen = [r for r in self.mock.requests()
                if ["X-Request-Id", request_id] in r["headers"]]
        self.assertEqual(len(seen), 1, "the upstream did not get the request exactly once")
        self.assertEqual(seen[0]["body"], '{"stream":true}')

    def assert_untrusted(self, gw):
        status, _, body, _ = self.stream_through(gw)
        self.assertEqual(status, 502, body[:400])
        error = json.loads(body)["error"]
        self.assertEqual(error["type"], "SSL")
        self.assertIn("certificate", error["message"])

    def with_gateway(self, ca_env, check):
        gw = self.gateway(ca_env)
        try:
            check(gw)
        finally:
            gw.stop()

    # -- serve --

    def test_without_a_named_certificate_the_upstream_is_untrusted(self):
        self.with_gateway({}, self.assert_untrusted)

    def test_ssl_cert_file_trusts_the_upstream_and_the_stream_is_relayed_whole(self):
        self.with_gateway({"SSL_CERT_FILE": self.cert}, self.assert_relayed)

    def test_what_one_read_of_the_upstream_brought_leaves_in_one_write(self):
        # As over the native client (test_serve): libcurl's callbacks of one action are one
        # batch, so the head with the first event, and the last event with [DONE] and the
        # last chunk, reach the client in one segment each (six when every piece went alone).
        def check(gw):
            answer, segments = harness.segments_of_answer(gw.port, harness.together_request("tls"))
            self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer[:200])
            self.assertEqual(answer.count(b"data: {"), 3, answer)
            self.assertTrue(answer.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n"), answer[-100:])
            self.assertEqual(segments, 3, answer)
        self.with_gateway({"SSL_CERT_FILE": self.cert}, check)

    def test_bytes_on_an_idle_connection_are_never_the_next_answer(self):
        # As LibcurlRelayTest's, over TLS (every https:// upstream goes through libcurl): the
        # goodbye 408, or an unasked answer, was relayed as the next request's answer.
        def check(gw):
            for mode in ("close_after;linger_ms=50;goodbye=408", "unasked;delay_ms=50"):
                with self.subTest(mode=mode):
                    status, _, body = gw.request("GET", "/gateway/tls/v1/first",
                                                 headers={"x-mock": mode})
                    self.assertEqual(status, 200, body[:200])
                    time.sleep(0.4)
                    for path in ("/v1/second", "/v1/third"):
                        status, _, body = gw.request(
                            "POST", "/gateway/tls" + path, body=b"{}",
                            headers={"Content-Type": "application/json"})
                        self.assertEqual(status, 200, "got the upstream's stray bytes: %d %r"
                                         % (status, body[:200]))
                        self.assertEqual(json.loads(body)["target"], path)
        self.with_gateway({"SSL_CERT_FILE": self.cert}, check)

    def test_ssl_cert_dir_trusts_a_hashed_directory(self):
        self.with_gateway({"SSL_CERT_DIR": self.hashed_dir}, self.assert_relayed)

    def test_a_file_of_other_certificates_does_not_trust_it(self):
        other = harness.make_self_signed(tempfile.mkdtemp(dir=self.tmp))[0]
        self.with_gateway({"SSL_CERT_FILE": other}, self.assert_untrusted)

    def test_curl_ca_bundle_wins_over_ssl_cert_dir_and_file(self):
        missing = os.path.join(self.tmp, "missing.pem")
        self.with_gateway({"CURL_CA_BUNDLE": self.cert, "SSL_CERT_FILE": missing,
                           "SSL_CERT_DIR": missing}, self.assert_relayed)

    def test_ssl_cert_dir_wins_over_ssl_cert_file(self):
        missing = os.path.join(self.tmp, "missing.pem")
        self.with_gateway({"SSL_CERT_DIR": self.hashed_dir, "SSL_CERT_FILE": missing},
                          self.assert_relayed)

    def serve_refuses(self, ca_env, variable, reason):
        env = tls_env({**ca_env, "XDG_CONFIG_HOME": self.tmp}, process=True)
        proc = subprocess.run([harness.LLMGW, "serve", "--port", "0", "--config", self.config],
                              capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(f"{variable}={ca_env[variable]}: {reason}", proc.stderr)
        self.assertIn("https:// upstreams", proc.stderr)
        self.assertNotIn("listening", proc.stderr)

    def test_a_missing_certificate_file_stops_serve_with_status_2(self):
        missing = os.path.join(self.tmp, "missing.pem")
        self.serve_refuses({"SSL_CERT_FILE": missing}, "SSL_CERT_FILE", "No such file or directory")

    def test_a_directory_named_as_the_file_stops_serve(self):
        self.serve_refuses({"CURL_CA_BUNDLE": self.hashed_dir}, "CURL_CA_BUNDLE",
                           "a directory, not a file of certificates")

    def test_a_file_named_as_the_directory_stops_serve(self):
        self.serve_refuses({"SSL_CERT_DIR": self.cert}, "SSL_CERT_DIR", "not a directory")

    def test_the_variable_used_is_the_one_checked(self):
        # SSL_CERT_DIR is read before SSL_CERT_FILE: a good file does not save a missing directory
        missing = os.path.join(self.tmp, "missing")
        self.serve_refuses({"SSL_CERT_DIR": missing, "SSL_CERT_FILE": self.cert}, "SSL_CERT_DIR",
                           "No such file or directory")

    def test_a_table_of_http_upstreams_ignores_them(self):
        off = "".join(f"\n[services.{name}]\nenabled = false\n" for name in builtin_services())
        toml = f'[services.local]\nbase_url = "http://127.0.0.1:{self.mock.port}"\n' + off
        gw = harness.Gateway(self.mock.port, services_toml=toml,
                             env=tls_env({"SSL_CERT_FILE": os.path.join(self.tmp, "missing.pem")}))
        try:
            status, _, _ = gw.request("GET", "/health")
            self.assertEqual(status, 200)
        finally:
            gw.stop()

    # -- call --

    def call(self, ca_env, *args):
        env = tls_env({**ca_env, "XDG_CONFIG_HOME": self.tmp}, process=True)
        return subprocess.run([harness.LLMGW, "call", "--config", self.config, "tls",
                               "/v1/chat/completions?mock=sse;events=4;interval_ms=20",
                               "-d", '{"stream":true}', *args],
                              capture_output=True, timeout=30, env=env)

    def test_call_trusts_ssl_cert_file_and_prints_the_stream(self):
        proc = self.call({"SSL_CERT_FILE": self.cert})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, expected_sse_body())

    def through_connect_proxy(self, check):
        """`check(proxy, env)` with https_proxy in `env` naming a CONNECT proxy of our own."""
        proxy = harness.TunnelProxy()
        try:
            check(proxy, tls_env({"SSL_CERT_FILE": self.cert,
                                  "https_proxy": f"http://127.0.0.1:{proxy.port}"}))
        finally:
            proxy.stop()

    def test_https_through_a_connect_proxy_relays_the_upstreams_head_only(self):
        # libcurl hands the proxy's "200 Connection established" to the header callback unless
        # told not to: it was taken for the upstream's head, and the real head followed it
        # inside the body.
        def check(proxy, env):
            gw = harness.Gateway(self.mock.port, extra_toml=self.toml, env=env)
            try:
                status, headers, body, _ = self.stream_through(gw)
            finally:
                gw.stop()
            self.assertEqual(status, 200, body[:400])
            self.assertNotIn("x-tunnel", headers)  # the proxy's own answer
            self.assertEqual(body, expected_sse_body())
            self.assertEqual(proxy.tunnels(), [{"connect": f"127.0.0.1:{self.mock.port}"}])
            proc = self.call(env, "-i")  # llmgw call prints one head
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stdout.count(b"HTTP/"), 1, proc.stdout[:300])
            self.assertNotIn(b"x-tunnel", proc.stdout.lower())
        self.through_connect_proxy(check)

    def test_call_without_it_is_an_ssl_failure_with_status_3(self):
        proc = self.call({})
        self.assertEqual(proc.returncode, 3, proc.stderr)
        self.assertEqual(json.loads(proc.stderr)["error"]["type"], "SSL")
        self.assertEqual(proc.stdout, b"")

    def test_call_to_an_http_upstream_ignores_them_even_through_libcurl(self):
        plain = harness.Mock()
        try:
            config = os.path.join(self.tmp, "plain.toml")
            with open(config, "w") as f:
                f.write(f'[services.plain]\nbase_url = "http://127.0.0.1:{plain.port}"\n')
            # through libcurl too: the certificates matter to TLS only
            env = tls_env({"LLMGW_UPSTREAM_CLIENT": "curl", "XDG_CONFIG_HOME": self.tmp,
                           "SSL_CERT_FILE": os.path.join(self.tmp, "missing.pem")}, process=True)
            proc = subprocess.run([harness.LLMGW, "call", "--config", config, "plain", "/v1/echo"],
                                  capture_output=True, timeout=30, env=env)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(json.loads(proc.stdout)["target"], "/v1/echo")
        finally:
            plain.stop()

    def test_call_with_a_missing_file_is_status_2_before_any_request(self):
        before = len(self.mock.requests())
        proc = self.call({"SSL_CERT_FILE": os.path.join(self.tmp, "missing.pem")})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(b"SSL_CERT_FILE=", proc.stderr)
        self.assertIn(b"No such file or directory", proc.stderr)
        self.assertEqual(len(self.mock.requests()), before)


EXPIRED_CA_CONFIG = """
[ca]
default_ca = selfsign
[selfsign]
database = index.txt
new_certs_dir = .
default_md = sha256
policy = anything
copy_extensions = copy
rand_serial = yes
[anything]
commonName = supplied
"""


def make_expired(directory):
    """A self-signed certificate for 127.0.0.1 that expired on 2020-01-02: (cert, key).
    `openssl req` cannot date a certificate in the past; `openssl ca` can."""
    os.makedirs(directory, exist_ok=True)

    def run(*argv):
        subprocess.run(argv, cwd=directory, check=True, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "key.pem", "-out", "req.pem", "-subj", "/CN=127.0.0.1",
        "-addext", "subjectAltName=IP:127.0.0.1")
    with open(os.path.join(directory, "ca.cnf"), "w") as f:
        f.write(EXPIRED_CA_CONFIG)
    open(os.path.join(directory, "index.txt"), "w").close()
    run("openssl", "ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", "key.pem",
        "-in", "req.pem", "-out", "cert.pem", "-startdate", "20200101000000Z",
        "-enddate", "20200102000000Z", "-notext")
    return os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")


@harness.needs(shutil.which("openssl"), "the openssl CLI makes the test certificates")
class TlsFailureTest(unittest.TestCase):
    """TLS failures besides an unknown certificate: each is a gateway error of the right type
    at the right time, nothing is sent, and the gateway goes on."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="llmgw-tlsfail-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        # trusted, but made out to another address than the one connected to
        cls.cert, key = harness.make_self_signed(cls.tmp, ip="127.0.0.2")
        cls.wrong_host = harness.Mock("--tls", cls.cert, key)
        cls.addClassCleanup(cls.wrong_host.stop)
        expired_cert, expired_key = make_expired(os.path.join(cls.tmp, "expired"))
        cls.expired = harness.Mock("--tls", expired_cert, expired_key)
        cls.addClassCleanup(cls.expired.stop)
        cls.bundle = os.path.join(cls.tmp, "bundle.pem")  # both trusted
        with open(cls.bundle, "w") as out:
            for path in (cls.cert, expired_cert):
                with open(path) as f:
                    out.write(f.read())
        cls.plain = harness.Mock()
        cls.addClassCleanup(cls.plain.stop)
        # plain HTTP behind an https:// base URL, answering the TLS hello as nginx does: 400
        cls.plain_http = socket.socket()
        cls.plain_http.bind(("127.0.0.1", 0))
        cls.plain_http.listen(16)
        cls.addClassCleanup(cls.plain_http.close)
        cls.plain_http_seen = []
        threading.Thread(target=cls.answer_400, daemon=True).start()
        cls.silent = socket.socket()  # completes TCP handshakes (the backlog), never answers
        cls.silent.bind(("127.0.0.1", 0))
        cls.silent.listen(16)
        cls.addClassCleanup(cls.silent.close)
        toml = f"""
[services.wronghost]
base_url = "https://127.0.0.1:{cls.wrong_host.port}"
max_retries = 0

[services.expired]
base_url = "https://127.0.0.1:{cls.expired.port}"
max_retries = 0

[services.plainhttp]
base_url = "https://127.0.0.1:{cls.plain_http.getsockname()[1]}"
max_retries = 0

[services.silent]
base_url = "https://127.0.0.1:{cls.silent.getsockname()[1]}"
timeout_ms = 1500
max_retries = 0
"""
        cls.gw = harness.Gateway(cls.plain.port, extra_toml=toml,
                                 env=tls_env({"SSL_CERT_FILE": cls.bundle}))
        cls.addClassCleanup(cls.gw.stop)

    @classmethod
    def answer_400(cls):
        while True:
            try:
                conn, _ = cls.plain_http.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    cls.plain_http_seen.append(conn.recv(4096))
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                except OSError:
                    pass

    def failure(self, service, status, type_):
        start = time.monotonic()
        got, _, body = self.gw.request("POST", f"/gateway/{service}/v1/chat/completions",
                                       body=b'{"model":"x"}',
                                       headers={"Content-Type": "application/json"}, timeout=20)
        elapsed = time.monotonic() - start
        self.assertEqual(got, status, body[:400])
        error = json.loads(body)["error"]
        self.assertEqual(error["type"], type_)
        ok, _, _ = self.gw.request("GET", "/health")
        self.assertEqual(ok, 200)  # and the gateway goes on
        return error["message"], elapsed

    def test_a_certificate_for_another_host_is_502_ssl(self):
        message, _ = self.failure("wronghost", 502, "SSL")
        self.assertIn("127.0.0.1", message)
        self.assertEqual(self.wrong_host.requests(), [])  # nothing went over it

    def test_an_expired_certificate_is_502_ssl(self):
        message, _ = self.failure("expired", 502, "SSL")
        self.assertIn("expired", message)
        self.assertEqual(self.expired.requests(), [])

    def test_plain_http_behind_an_https_base_url_is_502_ssl(self):
        message, elapsed = self.failure("plainhttp", 502, "SSL")
        self.assertIn("http://", message)  # the likely cause is named
        self.assertLess(elapsed, 2.0)  # at once, not at a deadline
        self.assertTrue(self.plain_http_seen and self.plain_http_seen[0][:1] == b"\x16",
                        "the upstream did not get a TLS hello")  # and no request in the clear

    def test_a_handshake_that_never_answers_is_504_at_the_deadline(self):
        _, elapsed = self.failure("silent", 504, "TIMEOUT")
        self.assertGreater(elapsed, 1.4)  # timeout_ms = 1500
        self.assertLess(elapsed, 4.0)


NODE_MOCK = os.path.join(harness.HERE, "..", "bench", "tls_mock.mjs")
STALLED_FLOODS = 2
SSE_CHUNK = (b'data: {"id":"x","object":"chat.completion.chunk","created":1700000000,'
             b'"model":"gpt-4o-mini-mock","choices":[{"index":0,"delta":{"content":"tok "},'
             b'"finish_reason":null}]}\n\n')


def established_to(port, pid=None):
    """How many established TCP connections go to 127.0.0.1:port (from process `pid` only,
    when given)."""
    remote = "0100007F:%04X" % port
    inodes = None
    if pid is not None:
        fd_dir = f"/proc/{pid}/fd"
        inodes = set()
        for name in os.listdir(fd_dir):
            try:
                target = os.readlink(f"{fd_dir}/{name}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    return sum(1 for row in harness.tcp_socket_rows(("/proc/net/tcp",))
               if row[2] == remote and row[3] == "01" and (inodes is None or row[9] in inodes))


@harness.needs(shutil.which("openssl") and shutil.which("node"),
               "the openssl CLI and node (tests/bench/tls_mock.mjs) make the HTTP/2 upstream")
class Http2UpstreamTest(unittest.TestCase):
    """An https:// upstream that answers over HTTP/2 (ALPN h2), as the providers do: the gateway
    relays it to HTTP/1.1 clients unbuffered, and libcurl carries many streams on one
    connection."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="llmgw-h2-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.cert, key = harness.make_self_signed(cls.tmp)
        node = harness.Mock(argv=["node", NODE_MOCK, "0", cls.cert, key])
        cls.addClassCleanup(node.stop)
        cls.port = node.port
        cls.toml = f"""
[services.h2]
base_url = "https://127.0.0.1:{cls.port}"
timeout_ms = 10000
max_retries = 0
"""
        cls.config = os.path.join(cls.tmp, "config.toml")
        with open(cls.config, "w") as f:
            f.write(cls.toml)
        cls.gw = cls.gateway()
        cls.addClassCleanup(cls.gw.stop)

    @classmethod
    def gateway(cls):
        """A gateway with one loop (one libcurl multi handle: every stream can share one upstream
        connection), whose connection to the mock is open and known to speak HTTP/2. Streams
        started together on a cold gateway would each open their own (BENCHMARKS.md)."""
        gw = harness.Gateway(harness.dead_port(), extra_toml=cls.toml, args=("--threads", "1"),
                             env=tls_env({"SSL_CERT_FILE": cls.cert}))
        status, _, body = gw.request("POST", "/gateway/h2/v1/chat/completions", body=b"{}",
                                     headers={"Content-Type": "application/json"})
        if status != 200:
            gw.stop()
            raise RuntimeError(f"the gateway's first HTTP/2 request: {status} {body[:300]!r}")
        return gw

    def test_a_stream_is_relayed_whole_and_as_it_arrives(self):
        conn = self.gw.conn(timeout=20)
        conn.request("POST", "/gateway/h2/v1/chat/completions?chunks=4&delay_ms=150",
                     body=b'{"stream": true}', headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("content-type"), "text/event-stream")
        self.assertEqual(response.getheader("transfer-encoding"), "chunked")
        arrivals, body = [], b""
        while True:
            line = response.fp.readline()  # the chunked framing is read by hand, as it arrives
            size = int(line.split(b";")[0], 16)
            if size == 0:
                break
            body += response.fp.read(size)
            response.fp.read(2)
            arrivals.append(time.monotonic())
        conn.close()
        self.assertEqual(body, SSE_CHUNK * 4 + b"data: [DONE]\n\n")
        # Sent at 0, 150, 300, 450 and 600 ms (on a fixed schedule: a late piece makes the next
        # gap short): spread over the 600 ms, most gaps a good part of 150 ms, not held back
        # to arrive together.
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
        self.assertGreaterEqual(len(gaps), 3, f"the events arrived in fewer pieces: {gaps}")
        self.assertGreaterEqual(sum(gap > 0.075 for gap in gaps), 3, gaps)
        self.assertGreater(arrivals[-1] - arrivals[0], 0.45, gaps)

    def test_a_stream_the_upstream_refused_is_sent_again_at_once(self):
        # REFUSED_STREAM (RFC 9113 §8.7): the upstream did not process it, as at its stream
        # limit. libcurl sends it again on a fresh connection, a POST too, and the gateway lets
        # it (once, within a second: CurlAttempt::on_send); not an error, nor a counted retry
        # (a review of the first version of that rule found a 502 here).
        key = uuid.uuid4().hex
        status, _, body = self.gw.request(
            "POST", f"/gateway/h2/v1/chat/completions?refuse_once={key}", body=b'{"model":"x"}',
            headers={"Content-Type": "application/json", "X-Request-Id": "refused-" + key})
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(json.loads(body)["object"], "chat.completion")
        line = harness.wait_log_line(self.gw, r"\[refused-" + key + r"\] \[INFO\] request \|")
        self.assertIn("attempts=1", line)

    def test_a_plain_answer_keeps_its_length(self):
        status, headers, body = self.gw.request("POST", "/gateway/h2/v1/chat/completions",
                                                body=b'{"model":"x"}',
                                                headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(json.loads(body)["object"], "chat.completion")
        self.assertEqual(int(headers["content-length"]), len(body))

    def test_concurrent_streams_share_upstream_connections(self):
        streams = 60
        results = [None] * streams
        heads = threading.Semaphore(0)  # released once per stream whose head has come

        def one(i):
            conn = self.gw.conn(timeout=20)
            try:
                conn.request("POST", "/gateway/h2/v1/chat/completions?chunks=3&delay_ms=700",
                             body=b'{"stream": true}', headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                heads.release()  # open: its first event comes with the head, its end 2.1 s later
                results[i] = (response.status, response.read())
            except (OSError, http.client.HTTPException) as e:
                results[i] = (0, str(e).encode())
                heads.release()
            finally:
                conn.close()

        threads = [threading.Thread(target=one, args=(i,)) for i in range(streams)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        for _ in range(streams):  # every stream is open
            self.assertTrue(heads.acquire(timeout=max(0.0, deadline - time.monotonic())),
                            "not every stream had its head within 20 s")
        upstream = established_to(self.port)
        for t in threads:
            t.join(30)
        for result in results:
            self.assertIsNotNone(result, "a stream did not end within 30 s")
            status, body = result
            self.assertEqual(status, 200, body[:300])
            self.assertEqual(body, SSE_CHUNK * 3 + b"data: [DONE]\n\n")
        # over HTTP/1.1 that is one connection per stream
        self.assertLess(upstream, streams // 2, f"{upstream} upstream connections for {streams} streams")
        self.assertGreater(upstream, 0)

    def test_a_client_that_stops_reading_holds_back_only_its_own_stream(self):
        # Two clients ask for 68 MB floods, over twice libcurl's 32 MiB stream window, and read
        # nothing; their streams share one upstream connection with the next stream, which must
        # still get every event at the upstream's pace. A gateway of its own: no idle connection
        # of another test to choose from.
        gw = self.gateway()
        stalled = []
        try:
            rss_before = harness.proc_rss_kb(gw.proc.pid)
            for _ in range(STALLED_FLOODS):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.connect(("127.0.0.1", gw.port))
                s.sendall(b"POST /gateway/h2/v1/chat/completions?chunks=400000&delay_ms=0 HTTP/1.1\r\n"
                          b"Host: x\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
                          b'{"stream": true}')
                stalled.append(s)
            time.sleep(2.0)
            start = time.monotonic()
            status, _, body = gw.request(
                "POST", "/gateway/h2/v1/chat/completions?chunks=5&delay_ms=100",
                body=b'{"stream": true}', headers={"Content-Type": "application/json"}, timeout=10)
            elapsed = time.monotonic() - start
            upstream = established_to(self.port, gw.proc.pid)
            grown_kib = harness.proc_rss_kb(gw.proc.pid) - rss_before
        finally:
            for s in stalled:
                s.close()
            gw.stop()
        self.assertEqual(status, 200, body[:300])
        self.assertEqual(body, SSE_CHUNK * 5 + b"data: [DONE]\n\n")
        self.assertLess(elapsed, 3.0, "the stream waited for the stalled ones")
        self.assertEqual(upstream, 1, "the streams did not share one upstream connection")
        # What a stalled stream holds in the gateway is bounded by libcurl's HTTP/2 stream window
        # (32 MiB in 7.88; RELIABILITY.md), not by the size of the answer.
        if harness.is_sanitized():
            return  # ASan's allocator keeps freed buffers in quarantine: RSS says nothing there
        self.assertLess(grown_kib, STALLED_FLOODS * (32 + 16) * 1024,
                        f"RSS grew by {grown_kib} KiB for {STALLED_FLOODS} stalled streams")
        print(f"\n  [{STALLED_FLOODS} stalled HTTP/2 streams of 68 MB: RSS +{grown_kib // 1024} MiB]",
              file=sys.stderr)

    def test_call_prints_the_http2_status_line_as_curl_does(self):
        env = tls_env({"SSL_CERT_FILE": self.cert, "XDG_CONFIG_HOME": self.tmp}, process=True)
        proc = subprocess.run([harness.LLMGW, "call", "--config", self.config, "h2",
                               "/v1/chat/completions", "-d", '{"model":"x"}', "-i"],
                              capture_output=True, timeout=30, env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.startswith(b"HTTP/2 200\r\n"), proc.stdout[:100])
        self.assertIn(b'"chat.completion"', proc.stdout)


def builtin_services():
    listed = subprocess.run([harness.LLMGW, "services", "--json"], capture_output=True, text=True,
                            timeout=30, env={**os.environ, "XDG_CONFIG_HOME": "/nonexistent"})
    return [s["name"] for s in json.loads(listed.stdout)]


if __name__ == "__main__":
    unittest.main()
