"""Integration tests for `llmgw call` (issue 5): the real binary against the mock upstream,
and through a real `llmgw serve` for --via."""
import hashlib
import itertools
import json
import os
import pty
import re
import select
import signal
import subprocess
import tempfile
import time
import unittest

import harness

SECRET = "sk-llmgw-test-5ecret-9f8e7d6c"
KEY_VAR = "LLMGW_TEST_CALL_KEY"
FIXTURES = os.path.join(harness.HERE, "fixtures")

CONFIG = """
[services.mock]
base_url = "http://127.0.0.1:{port}"
aliases = ["mock-alias"]
headers = {{ "x-default" = "from-config" }}
timeout_ms = 5000
max_retries = 1
api_key_env = "{key_var}"
api_key_header = "Authorization"
api_key_prefix = "Bearer "

[services.xkey]
base_url = "http://127.0.0.1:{port}"
max_retries = 0
api_key_env = "{key_var}"
api_key_header = "x-api-key"

[services.small]
base_url = "http://127.0.0.1:{port}"
max_response_bytes = 1000
max_retries = 0

[services.dead]
base_url = "http://127.0.0.1:{dead_port}"
max_retries = 0

[services.nowhere]
base_url = "http://llmgw-test.invalid"
max_retries = 0
"""

# fixture file → the text --text prints for it
TEXT_FIXTURES = {
    "openai_chat.sse": "Hello! How can I help you today? \u2728\n",
    "openai_completions.sse": "\n\nThe quick brown fox.\n",
    "openai_responses.sse": "Under the sea,\na unicorn sleeps.\n",
    "anthropic_messages.sse": "Bonjour ! Comment puis-je vous aider ?\n",
    "gemini_stream.sse": "Ciao! Come posso aiutarti oggi?\n",
    "openai_chat.json": "Paris is the capital of France.\n",
    "openai_completions.json": "\n\nThis is indeed a test\n",
    "openai_responses.json": "In a quiet forest, a unicorn dreamed.\n",
    "anthropic_messages.json": "Hi! My name is Claude.\n",
    "gemini.json": "The sky is blue because of Rayleigh scattering.\n",
    # a refusal is the model's answer; with two candidates only index 0 counts
    "openai_refusal.sse": "I'm sorry, I can't help with that.\n",
    "openai_refusal.json": "I'm sorry, I can't assist with that request.\n",
    "openai_responses_refusal.sse": "I can't help with that.\n",
    "gemini_candidates.sse": "One two\n",
    "gemini_array.json": "Once upon a time, a unicorn slept.\n",
    "done_only.sse": "\n",
}


def read_until(proc, predicate, timeout=10):
    """Reads proc's stdout as it arrives until predicate(data) holds; returns
    [(arrival time, bytes so far)] for each read."""
    fd = proc.stdout.fileno()
    data = b""
    reads = []
    deadline = time.monotonic() + timeout
    while not predicate(data) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        piece = os.read(fd, 65536)
        if not piece:
            break
        data += piece
        reads.append((time.monotonic(), data))
    return reads


class CallBase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.mock = harness.Mock()
        cls.dir = tempfile.mkdtemp(prefix="llmgw-call-")
        os.makedirs(os.path.join(cls.dir, "llmgw"))
        # The default location: call finds it through XDG_CONFIG_HOME, without --config.
        with open(os.path.join(cls.dir, "llmgw", "config.toml"), "w") as f:
            f.write(CONFIG.format(port=cls.mock.port, dead_port=harness.dead_port(),
                                  key_var=KEY_VAR))

    @classmethod
    def tearDownClass(cls):
        cls.mock.stop()

    def setUp(self):
        self.mock.reset()

    def env(self, extra=None):
        # Without the machine's proxy (it would carry, or refuse, the requests to the mock).
        dropped = ("LLMGW_CONFIG", KEY_VAR, *harness.PROXY_VARIABLES)
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env["XDG_CONFIG_HOME"] = self.dir
        env.update(extra or {})
        return env

    def call(self, *args, stdin=None, env=None, timeout=60):
        """Runs `llmgw call ARGS`; returns (status, stdout bytes, stderr text)."""
        p = subprocess.run([harness.LLMGW, "call", *args], input=stdin, capture_output=True,
                           env=self.env(env), timeout=timeout)
        return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")

    def spawn(self, *args, env=None):
        return subprocess.Popen([harness.LLMGW, "call", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env(env))

    def gateway_error(self, stderr, want_type):
        """The JSON error on the last line of stderr, checked for its type."""
        doc = json.loads(stderr.strip().splitlines()[-1])
        self.assertEqual(doc["error"]["type"], want_type, stderr)
        self.assertTrue(doc["error"]["message"])
        self.assertTrue(doc["error"]["request_id"])
        return doc

    def wait_closed(self, target, timeout=5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(c["target"] == target for c in self.mock.closed()):
                return True
            time.sleep(0.05)
        return False


class CallTest(CallBase):
    # ---- exit status 0 and 1 ----
    def test_ok_prints_only_the_body(self):
        status, out, err = self.call("mock", "/v1/models?x=1")
        self.assertEqual(status, 0, err)
        self.assertEqual(err, "")
        echo = json.loads(out)
        self.assertEqual(echo["method"], "GET")
        self.assertEqual(echo["target"], "/v1/models?x=1")
        names = {k.lower(): v for k, v in echo["headers"]}
        self.assertRegex(names["user-agent"], r"^llmgw/")
        self.assertIn("x-request-id", names)

    def test_request_id_is_chosen_as_serve_chooses_it(self):
        # SPEC §8: X-Request-Id, else X-Correlation-Id, else X-Trace-Id; sent upstream as
        # X-Request-Id and named by call's errors. Direct call took X-Request-Id only.
        for header, want in (("X-Correlation-Id: corr-1", "corr-1"),
                             ("X-Trace-Id: tr-1", "tr-1"),
                             ("X-Request-Id: bad id", None)):
            with self.subTest(header=header):
                status, out, err = self.call("mock", "/v1/x", "-H", header)
                self.assertEqual(status, 0, err)
                sent = {k.lower(): v for k, v in json.loads(out)["headers"]}["x-request-id"]
                if want:
                    self.assertEqual(sent, want)
                else:
                    self.assertRegex(sent, r"^[0-9a-f-]{36}$")
        status, _, err = self.call("dead", "/v1/x", "-H", "X-Trace-Id: tr-2")
        self.assertEqual(self.gateway_error(err, "CONNECTION")["error"]["request_id"], "tr-2")

    def test_alias(self):
        status, out, _ = self.call("mock-alias", "/v1/models")
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["target"], "/v1/models")

    def test_http_error_is_1_with_the_body(self):
        status, out, err = self.call("mock", "/v1/x", "-H", 'x-mock: status;code=404;body={"e":"gone"}')
        self.assertEqual(status, 1, err)
        self.assertEqual(out, b'{"e":"gone"}')

    # ---- exit status 2 ----
    def test_usage_errors_are_2(self):
        cases = [
            (["mock", "/v1/x", "--bogus"], "bogus"),
            (["nosuchservice", "/v1/x"], "Available services:"),
            (["mock", "/v1/x", "-d", "@/nonexistent/body.json"], "cannot read"),
            (["mock", "v1/x"], "must start with '/'"),
            (["mock", "/v1/x", "-H", "no colon"], "colon"),
            # Only the name is quoted: the rest may be a key (before: the whole argument).
            (["mock", "/v1/x", "-H", "Authorization Bearer sk-llmgw-no-colon"],
             "header 'Authorization …' has no colon"),
            (["mock", "/v1/x", "--via", "127.0.0.1:8787"], "--via"),
            # Before: '' went straight to the service (an unset $GW skipped the gateway), and
            # the malformed ones were an UNKNOWN 500 from libcurl (exit 1).
            (["mock", "/v1/x", "--via", ""], "--via"),
            (["mock", "/v1/x", "--via", "http://127.0.0.1:99999"], "--via"),
            (["mock", "/v1/x", "--via", "http://127.0.0.1:abc"], "--via"),
            (["mock", "/v1/x", "--via", "http://127.0.0.1 :1"], "--via"),
            (["mock", "/v1/x", "--via", "http://127.0.0.1:1/p\r\nX: y"], "--via"),
            (["mock", "/v1/x", "--via", "http://:80"], "--via"),
            (["mock", "/v1/x", "--retries", "-1"], "retries"),
            (["mock", "/v1/x", "-m", "1e3"], "seconds"),
            (["mock", "/v1/x", "-m", "-1"], "seconds"),
            (["mock", "/v1/x", "-m", "."], "seconds"),
            (["mock", "/v1/x", "-m", "86400.001"], "seconds"),
            (["mock", "/v1/x", "--max-time", "100000"], "seconds"),
            (["mock", "/v1/x", "--max-time", "nan"], "seconds"),
            # Before: -X '' was taken for no -X (a GET); route refused it already.
            (["mock", "/v1/x", "-X", ""], "'' is not an HTTP method"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                status, out, err = self.call(*args)
                self.assertEqual(status, 2, err)
                self.assertEqual(out, b"")
                self.assertIn(words, err)
                self.assertNotIn("sk-llmgw-no-colon", err)
        self.assertEqual(self.mock.requests(), [])

    def test_unknown_service_lists_services(self):
        _, _, err = self.call("nosuchservice", "/v1/x")
        self.assertIn("mock", err.splitlines()[-1])
        self.assertIn("openai", err.splitlines()[-1])

    def test_help_documents_exit_statuses(self):
        p = subprocess.run([harness.LLMGW, "call", "--help"], capture_output=True, text=True,
                           env=self.env(), timeout=30)
        self.assertEqual(p.returncode, 0)
        for line in ("Exit status:", "130", "--text", "--via"):
            self.assertIn(line, p.stdout)

    # ---- libcurl: opened only when the upstream needs it ----
    def loaded_libcurl(self, env):
        """(status, stdout, the libcurl files the loader opened) of a call run with LD_DEBUG=files."""
        env = {**harness.NATIVE_CLIENT_ENV, "LD_DEBUG": "files", **env}
        status, out, err = self.call("mock", "/v1/models", env=env)
        self.assertIn("file=", err, "LD_DEBUG printed nothing")
        return status, out, re.findall(r"file=(\S*libcurl\S*\.so\S*) +\[0\]; +dynamically loaded by", err)

    @unittest.skipIf(harness.LIBCURL_LINKED, "this build links libcurl")
    def test_http_upstream_never_opens_libcurl(self):
        status, out, opened = self.loaded_libcurl({"LLMGW_LIBCURL": "/nonexistent/libcurl.so.4"})
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["target"], "/v1/models")
        self.assertEqual(opened, [], "libcurl was opened for an http:// upstream")

    @unittest.skipIf(harness.LIBCURL_LINKED, "this build links libcurl")
    def test_libcurl_opened_when_it_carries_the_request(self):
        status, out, opened = self.loaded_libcurl({"LLMGW_UPSTREAM_CLIENT": "curl"})
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["target"], "/v1/models")
        self.assertEqual(len(opened), 1, opened)
        # The library built against is opened by its path; LLMGW_LIBCURL names another file, here
        # the same library by its bare soname, found through the loader's search.
        soname = os.path.basename(opened[0])
        status, out, opened = self.loaded_libcurl({"LLMGW_UPSTREAM_CLIENT": "curl", "LLMGW_LIBCURL": soname})
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["target"], "/v1/models")
        self.assertEqual(opened, [soname])

    def test_an_unasked_101_through_libcurl_is_a_network_error(self):
        # libcurl 7.86 and later pass on what follows a 101 as the body, with no head before
        # it; `call` then fed body bytes to an output it had not made yet (undefined behaviour).
        env = {**harness.NATIVE_CLIENT_ENV, "LLMGW_UPSTREAM_CLIENT": "curl"}
        status, out, err = self.call("mock", "/v1/upgrade", "-H", "x-mock: interim;codes=101",
                                     env=env)
        self.assertEqual(status, 3, err)
        self.assertEqual(out, b"")
        doc = self.gateway_error(err, "NETWORK")
        self.assertIn("101", doc["error"]["message"])

    @unittest.skipIf(harness.LIBCURL_LINKED, "this build links libcurl")
    def test_missing_libcurl_is_a_clear_error(self):
        env = {**harness.NATIVE_CLIENT_ENV, "LLMGW_UPSTREAM_CLIENT": "curl",
               "LLMGW_LIBCURL": "/nonexistent/libcurl.so.4"}
        status, out, err = self.call("mock", "/v1/models", env=env)
        self.assertEqual(status, 1, err)
        self.assertEqual(out, b"")
        doc = self.gateway_error(err, "UNKNOWN")
        self.assertIn("libcurl could not be loaded (/nonexistent/libcurl.so.4", doc["error"]["message"])
        self.assertEqual(self.mock.requests(), [])

    # ---- exit status 3 ----
    def test_connection_refused_is_3(self):
        status, out, err = self.call("dead", "/v1/x")
        self.assertEqual(status, 3, err)
        self.assertEqual(out, b"")
        self.gateway_error(err, "CONNECTION")

    def test_unresolvable_host_is_3(self):
        # Asked only of the harness's NXDOMAIN resolver, in a mount namespace of its own: no
        # query leaves loopback.
        harness.require_private_dns(self)
        argv = harness.private_dns_argv([harness.LLMGW, "call", "nowhere", "/v1/x", "--timeout",
                                         "15000"])
        proc = subprocess.run(argv, capture_output=True, env=self.env(), timeout=60)
        err = proc.stderr.decode()
        self.assertEqual(proc.returncode, 3, err)
        self.assertEqual(proc.stdout, b"")
        self.gateway_error(err, "DNS")
        self.assertIn("llmgw-test.invalid", harness.private_dns_queries())

    def test_timeout_is_3(self):
        started = time.monotonic()
        status, out, err = self.call("mock", "/v1/x", "-H", "x-mock: hang", "--timeout", "700",
                                     "--quiet")
        elapsed = time.monotonic() - started
        self.assertEqual(status, 3, err)
        self.assertEqual(out, b"")
        self.gateway_error(err, "TIMEOUT")
        self.assertGreater(elapsed, 0.65)  # at the 700 ms asked, not before
        self.assertLess(elapsed, 4.5)  # the service's 5000 ms was replaced

    def test_max_time_before_the_headers_is_3(self):
        # The service waits 5000 ms for headers; -m's 0.6 s comes first.
        started = time.monotonic()
        status, out, err = self.call("mock", "/v1/x", "-H", "x-mock: hang", "-m", "0.6", "-q")
        elapsed = time.monotonic() - started
        self.assertEqual(status, 3, err)
        self.assertEqual(out, b"")
        self.gateway_error(err, "TIMEOUT")
        self.assertGreater(elapsed, 0.55)
        self.assertLess(elapsed, 4.5)
        # A --timeout shorter than -m still ends it first.
        status, _, err = self.call("mock", "/v1/x", "-H", "x-mock: hang", "--max-time", "30",
                                   "--timeout", "300", "-q")
        self.assertEqual(status, 3, err)
        self.assertIn("300 ms", err)

    def test_max_time_cuts_a_stream_after_its_head_is_4(self):
        # 100 events 100 ms apart take 10 s; the edge lane has no total deadline of its own.
        started = time.monotonic()
        status, out, err = self.call("mock", "/v1/x", "-m", "1.2", "-H",
                                     "x-mock: sse;events=100;interval_ms=100")
        elapsed = time.monotonic() - started
        self.assertEqual(status, 4, err)
        self.assertIn(b"tok2", out)  # what arrived was printed
        self.assertNotIn(b"[DONE]", out)
        self.gateway_error(err, "TIMEOUT")
        self.assertIn("1200 ms", err)
        self.assertGreater(elapsed, 1.15)
        self.assertLess(elapsed, 6)
        # 0 is no cap, as curl's -m 0.
        status, out, err = self.call("mock", "/v1/x", "-m", "0", "-H",
                                     "x-mock: sse;events=3;interval_ms=50")
        self.assertEqual(status, 0, err)
        self.assertIn(b"[DONE]", out)

    # ---- exit status 4 ----
    def test_reset_mid_stream_is_4(self):
        status, out, err = self.call("mock", "/v1/x", "-H", "x-mock: sse_cut;events=3;interval_ms=50")
        self.assertEqual(status, 4, err)
        self.assertIn(b"tok2", out)  # what arrived was printed
        self.gateway_error(err, "NETWORK")

    def test_stream_without_done_is_4(self):
        status, out, err = self.call("mock", "/v1/x", "-H", "x-mock: sse;events=2;interval_ms=10;done=0")
        self.assertEqual(status, 4, err)
        self.assertIn(b"tok1", out)
        self.assertIn("[DONE]", err)
        status, _, err = self.call("mock", "/v1/x", "-H", "x-mock: sse;events=2;interval_ms=10")
        self.assertEqual(status, 0, err)

    def test_stream_without_end_marker_is_4_in_text_mode_too(self):
        # A transfer that ends cleanly but without [DONE]: the text is printed, then 4.
        status, out, err = self.call("mock", "/v1/x", "--text", "-H",
                                     "x-mock: sse;events=1;interval_ms=10;done=0")
        self.assertEqual(status, 4, err)
        self.assertEqual(out, b"tok0 \n")

    def test_size_limit_is_4(self):
        # Content-Length over the limit: nothing is printed.
        status, out, err = self.call("small", "/v1/x", "-H", "x-mock: bytes;n=5000;length=1")
        self.assertEqual(status, 4, err)
        self.assertEqual(out, b"")
        self.gateway_error(err, "SIZE_LIMIT")
        # No Content-Length: cut when the limit is passed.
        status, out, err = self.call("small", "/v1/x", "-H", "x-mock: bytes;n=50000;length=0")
        self.assertEqual(status, 4, err)
        self.assertLessEqual(len(out), 1000)
        self.gateway_error(err, "SIZE_LIMIT")

    def test_an_event_stream_at_its_size_limit_is_printed_through_its_last_whole_event(self):
        # 30 events in one piece of ~2 KB, the limit 1000: the events within it are printed
        # (raw and --text), as serve relays them. Before: the piece crossing the limit was
        # dropped whole, nothing printed (found by a read-only review).
        mock = "x-mock: sse;events=30;interval_ms=0;one_chunk=1"
        status, out, err = self.call("small", "/v1/x", "-H", mock)
        self.assertEqual(status, 4, err)
        self.gateway_error(err, "SIZE_LIMIT")
        events = out.split(b"\n\n")
        self.assertEqual(events[-1], b"")  # ends with a whole event
        self.assertGreater(len(events) - 1, 5)
        self.assertLessEqual(len(out), 1000)
        for i, event in enumerate(events[:-1]):
            self.assertEqual(json.loads(event[len(b"data: "):])["i"], i)
        status, text, err = self.call("small", "/v1/x", "--text", "-H", mock)
        self.assertEqual(status, 4, err)
        self.assertEqual(text, b"".join(b"tok%d " % i for i in range(len(events) - 1)) + b"\n")

    # ---- exit status 130 ----
    def test_sigint_aborts_the_transfer(self):
        proc = self.spawn("mock", "/v1/sigint", "-H", "x-mock: sse;events=100;interval_ms=100")
        try:
            reads = read_until(proc, lambda d: b"tok1" in d)
            self.assertTrue(reads and b"tok1" in reads[-1][1], "no event arrived before the signal")
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(timeout=10), 130)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self.assertTrue(self.wait_closed("/v1/sigint"), self.mock.closed())

    def test_a_stdout_that_cannot_be_written_is_an_error_not_a_closed_reader(self):
        # A full disk (/dev/full) or a closed descriptor lost the answer: said, and 23 (as
        # curl does). It was 141 and silent, the status of a reader that went away, which
        # scripts take for a harmless early close.
        for name, stdout in (("full", "/dev/full"), ("closed", None)):
            with open(stdout or os.devnull, "wb") as sink:
                p = subprocess.run([harness.LLMGW, "call", "mock", "/v1/full"],
                                   stdout=sink if stdout else subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=self.env(), timeout=30,
                                   preexec_fn=None if stdout else (lambda: os.close(1)))
            err = p.stderr.decode()
            self.assertEqual(p.returncode, 23, (name, err))
            self.assertIn("cannot write to standard output: ", err)
            self.assertIn("No space left on device" if stdout else "Bad file descriptor", err)

    def test_closed_stdout_aborts_the_transfer(self):
        proc = self.spawn("mock", "/v1/epipe", "-H", "x-mock: sse;events=100;interval_ms=50")
        try:
            reads = read_until(proc, lambda d: b"tok0" in d)
            self.assertTrue(reads and b"tok0" in reads[-1][1], "no event arrived before the close")
            proc.stdout.close()
            self.assertEqual(proc.wait(timeout=10), 141)
        finally:
            proc.kill()
            proc.wait()
            proc.stderr.close()
        self.assertTrue(self.wait_closed("/v1/epipe"), self.mock.closed())

    def test_a_reader_that_stopped_reading_cannot_hold_call_past_a_signal_or_its_deadline(self):
        # stdout a pipe nobody reads (full after 64 KiB), the answer 20 MiB: a write(2) blocked
        # for good. SIGTERM (as timeout(1) sends) and -m's deadline must still end call. Before,
        # both waited on the write: the process had to be killed.
        for args, signal_after, want in ((), 1.0, 143), (("-m", "1"), None, 4):
            with self.subTest(args=args):
                proc = self.spawn("mock", "/v1/stuck", "-H", "x-mock: flood;mb=20", *args)
                try:
                    if signal_after:
                        time.sleep(signal_after)
                        proc.send_signal(signal.SIGTERM)
                    started = time.monotonic()
                    self.assertEqual(proc.wait(timeout=5), want)
                    self.assertLess(time.monotonic() - started, 4)
                finally:
                    proc.kill()
                    proc.wait()
                    proc.stdout.close()
                    err = proc.stderr.read().decode()
                    proc.stderr.close()
                if want == 4:
                    self.assertIn("llmgw: the deadline passed while standard output took "
                                  "nothing", err)
                self.assertTrue(self.wait_closed("flood"), self.mock.closed())  # the mock says so
                self.mock.reset()

    # ---- request building ----
    def test_data_implies_post_and_json(self):
        status, out, _ = self.call("mock", "/v1/x", "-d", '{"a":1}')
        self.assertEqual(status, 0)
        echo = json.loads(out)
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body"], '{"a":1}')
        names = {k.lower(): v for k, v in echo["headers"]}
        self.assertEqual(names["content-type"], "application/json")
        # A Content-Type of the user's and an explicit method win.
        status, out, _ = self.call("mock", "/v1/x", "-X", "put", "-d", "a=b",
                                   "-H", "Content-Type: text/plain")
        echo = json.loads(out)
        self.assertEqual(echo["method"], "PUT")
        names = {k.lower(): v for k, v in echo["headers"]}
        self.assertEqual(names["content-type"], "text/plain")
        # A method of no standard name is sent as written, as curl sends it (was PURGE).
        for method, sent in (("purge", "purge"), ("MkCol", "MkCol"), ("patch", "PATCH")):
            status, out, _ = self.call("mock", "/v1/x", "-X", method)
            self.assertEqual((status, json.loads(out)["method"]), (0, sent))

    def test_data_from_file(self):
        path = os.path.join(self.dir, "body.bin")
        payload = bytes(range(256)) * 4
        with open(path, "wb") as f:
            f.write(payload)
        status, out, err = self.call("mock", "/v1/x", "-d", "@" + path, "-H", "x-mock: digest")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out), {"sha256": hashlib.sha256(payload).hexdigest(),
                                           "body_len": len(payload)})

    def test_curls_spellings_of_the_body_and_of_silence(self):
        # Scripts ported from curl (and Chrome's "Copy as cURL", which writes --data-raw):
        # --data-binary is what -d is (a file's bytes as they are), --data-raw takes an @ as
        # it is, -sS is taken (call has no progress meter; -s as -q). Before: each was a usage
        # error, "unknown option" or "argument was not expected" (found by a read-only review).
        path = os.path.join(self.dir, "body.bin")
        payload = bytes(range(256)) * 4
        with open(path, "wb") as f:
            f.write(payload)
        status, out, err = self.call("mock", "/v1/x", "--data-binary", "@" + path, "-sS",
                                     "-H", "x-mock: digest")
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out), {"sha256": hashlib.sha256(payload).hexdigest(),
                                           "body_len": len(payload)})
        status, out, err = self.call("mock", "/v1/x", "--data-raw", "@" + path, "-s")
        self.assertEqual(status, 0, err)
        echo = json.loads(out)
        self.assertEqual((echo["method"], echo["body"]), ("POST", "@" + path))
        # -s is -q: the retry notice is not said; the error still is.
        status, _, err = self.call("mock", "/v1/x", "-s", "--retries", "1",
                                   "-H", "x-mock: status;code=503")
        self.assertEqual(status, 1)
        self.assertNotIn("retrying", err)

    def test_data_from_stdin(self):
        status, out, _ = self.call("mock", "/v1/x", "-d", "@-", stdin=b'{"from":"stdin"}')
        self.assertEqual(status, 0)
        self.assertEqual(json.loads(out)["body"], '{"from":"stdin"}')

    def test_five_mib_stdin_body_byte_for_byte(self):
        payload = os.urandom(5 * 1024 * 1024)
        status, out, err = self.call("mock", "/v1/upload", "-d", "@-", "-H", "x-mock: digest",
                                     "-H", "Content-Type: application/octet-stream", stdin=payload)
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out), {"sha256": hashlib.sha256(payload).hexdigest(),
                                           "body_len": len(payload)})

    def test_a_body_over_max_request_bytes_is_refused_before_anything_is_sent(self):
        # -d @/dev/zero read without end, its memory growing until the kernel killed call: now
        # refused once past the limit serve would put on a client's body (32 MiB by default).
        status, out, err = self.call("mock", "/v1/x", "-d", "@/dev/zero", timeout=30)
        self.assertEqual((status, out), (2, b""), err)
        self.assertEqual(err, "llmgw: the body of -d @/dev/zero is over max_request_bytes "
                              "(33554432 bytes; the [gateway] table of the user file sets it)\n")
        # A user file's limit of 1000: 1000 bytes are sent whole, one more is refused, from a
        # file, stdin or the command line alike.
        config = os.path.join(self.dir, "limit-1000.toml")
        with open(config, "w") as f:
            f.write(f'[gateway]\nmax_request_bytes = 1000\n'
                    f'[services.mock]\nbase_url = "http://127.0.0.1:{self.mock.port}"\n')
        path = os.path.join(self.dir, "body-1001.bin")
        with open(path, "wb") as f:
            f.write(b"x" * 1001)
        for args, stdin, shown in ((("-d", "@" + path), None, "@" + path),
                                   (("-d", "@-"), b"x" * 1001, "@-"),
                                   (("-d", "x" * 1001), None, "DATA")):
            with self.subTest(shown=shown):
                status, out, err = self.call("--config", config, "mock", "/v1/x", *args,
                                             stdin=stdin)
                self.assertEqual((status, out), (2, b""), err)
                self.assertEqual(err, f"llmgw: the body of -d {shown} is over max_request_bytes "
                                      f"(1000 bytes; the [gateway] table of the user file sets it)\n")
        self.assertEqual(self.mock.requests(), [])
        status, out, err = self.call("--config", config, "mock", "/v1/x", "-d", "@-",
                                     "-H", "x-mock: digest", stdin=b"y" * 1000)
        self.assertEqual(status, 0, err)
        self.assertEqual(json.loads(out)["body_len"], 1000)

    # ---- stdout/stderr discipline ----
    def test_retry_notice_on_stderr_and_quiet(self):
        status, out, err = self.call("mock", "/v1/x", "-H", "x-mock: flaky;key=r1;fail=1;code=503")
        self.assertEqual(status, 0, err)
        json.loads(out)  # stdout is the body and nothing else
        self.assertRegex(err, r"^llmgw: retrying after 503 \(attempt 2 in \d+ ms\)\n$")
        status, out, err = self.call("mock", "/v1/x", "-H", "x-mock: flaky;key=r2;fail=1;code=503",
                                     "--quiet")
        self.assertEqual(status, 0)
        self.assertEqual(err, "")
        # --retries 0 disables them: the 503 is the answer.
        status, out, err = self.call("mock", "/v1/x", "-H", "x-mock: flaky;key=r3;fail=1;code=503",
                                     "--retries", "0")
        self.assertEqual(status, 1)
        self.assertEqual(err, "")

    def test_include_prints_status_line_and_headers_first(self):
        status, out, _ = self.call("mock", "/v1/x", "-i", "-H", "x-mock: headers;X-Extra=yes")
        self.assertEqual(status, 0)
        head, body = out.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.assertEqual(lines[0], "HTTP/1.1 200 OK")
        fields = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        self.assertEqual(fields["x-extra"], "yes")
        self.assertEqual(fields["content-length"], str(len(body)))
        json.loads(body)
        # The status line as the upstream sent it, as curl -i prints it: its own reason phrase
        # (the mock's "Overloaded" and "Status", not llmgw's table), none when it sent none.
        # Before: llmgw's phrase for the code, or none (found by a read-only review).
        for client in ("native", "curl"):
            env = {"LLMGW_UPSTREAM_CLIENT": client}
            for mock, line in (("status;code=529;body={}", b"HTTP/1.1 529 Overloaded\r\n"),
                               ("status;code=299;body={}", b"HTTP/1.1 299 Status\r\n"),
                               ("no_reason", b"HTTP/1.1 200\r\n")):
                with self.subTest(client=client, mock=mock):
                    _, out, _ = self.call("mock", "/v1/x", "-i", "--retries", "0", "-H",
                                          "x-mock: " + mock, env=env)
                    self.assertTrue(out.startswith(line), out[:40])

    def test_sse_events_reach_a_pipe_as_they_arrive(self):
        proc = self.spawn("mock", "/v1/x", "-H", "x-mock: sse;events=5;interval_ms=200")
        try:
            reads = read_until(proc, lambda d: d.count(b"\n\n") >= 6)
            self.assertEqual(proc.wait(timeout=10), 0)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        # When each of the five events was first seen at the reading end.
        seen = []
        for at, data in reads:
            while len(seen) < 5 and data.count(b"tok%d" % len(seen)) > 0:
                seen.append(at)
        self.assertEqual(len(seen), 5)
        # Buffered output would arrive all at once; a late event shortens the next gap, so
        # the median is checked closely and each gap only loosely.
        gaps = sorted(b - a for a, b in zip(seen, seen[1:]))
        self.assertGreater(gaps[len(gaps) // 2], 0.12, gaps)
        self.assertLess(gaps[len(gaps) // 2], 0.4, gaps)
        self.assertGreater(gaps[0], 0.03, gaps)
        self.assertGreater(seen[-1] - seen[0], 0.6, gaps)

    # ---- --text ----
    def test_text_of_each_provider_format(self):
        for name, text in TEXT_FIXTURES.items():
            for extra in ("", ";chunk=7"):
                with self.subTest(fixture=name, extra=extra):
                    status, out, err = self.call("mock", "/v1/x", "--text", "-H",
                                                 f"x-mock: fixture;name={name}{extra}")
                    self.assertEqual(status, 0, err)
                    self.assertEqual(out.decode("utf-8"), text)
                    self.assertEqual(err, "")

    def test_raw_fixture_streams_are_complete(self):
        for name in TEXT_FIXTURES:
            if name.endswith(".sse"):
                with self.subTest(fixture=name):
                    status, out, err = self.call("mock", "/v1/x", "-H", f"x-mock: fixture;name={name}")
                    self.assertEqual(status, 0, err)
                    with open(os.path.join(FIXTURES, name), "rb") as f:
                        self.assertEqual(out, f.read())

    def assert_text_comes_before_the_rest(self, mock_spec, first, later):
        """`call --text` of the mock's `mock_spec` prints `first` while `later` is still to
        come, then exits 0."""
        proc = self.spawn("mock", "/v1/x", "--text", "-H", "x-mock: " + mock_spec)
        try:
            reads = read_until(proc, lambda d: first in d)
            self.assertIn(first, reads[-1][1] if reads else b"")
            self.assertNotIn(later, reads[-1][1])  # the rest is still to come
            self.assertEqual(proc.wait(timeout=15), 0)
        finally:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()

    def test_text_with_a_lone_surrogate_escape_keeps_the_text(self):
        # "\ud83d" alone is JSON by RFC 8259's grammar (a string cut between a pair's halves,
        # as JavaScript writes it). Its event was taken for "not JSON": text lost, exit 4.
        status, out, err = self.call("mock", "/v1/x", "--text", "-H",
                                     "x-mock: fixture;name=openai_lone_surrogate.sse")
        self.assertEqual(status, 0, err)
        self.assertEqual(out.decode("utf-8"), "Hi lone \ufffd end, pair \U0001F600\n")

    def test_text_after_the_end_marker_is_left_out(self):
        # As the SDKs read a stream: it ends at [DONE]. "AFTER" was printed ("aAFTER", exit 0).
        status, out, err = self.call("mock", "/v1/x", "--text", "-H",
                                     "x-mock: fixture;name=openai_text_after_done.sse")
        self.assertEqual((status, out), (0, b"a\n"), err)
        self.assertIn("llmgw: --text: text after the end marker (data: [DONE]) is left out", err)

    def test_text_streams_as_it_arrives(self):
        self.assert_text_comes_before_the_rest(
            "fixture;name=anthropic_messages.sse;interval_ms=300", b"Bonjour", b"aider")

    def test_text_unknown_format_falls_back_to_raw(self):
        status, out, err = self.call("mock", "/v1/models", "--text")
        self.assertEqual(status, 0)
        json.loads(out)
        self.assertIn("--text: the response is not of a known format", err)
        status, out, err = self.call("mock", "/v1/models", "--text", "--quiet")
        self.assertEqual(err, "")

    def test_a_stream_that_reports_an_error_is_not_a_success_even_with_its_end_marker(self):
        # An error event, then [DONE] anyway: it said so on stderr with --text and exited 0;
        # without --text it did not even say so. `&&` took the partial answer for a good one.
        for extra in (["--text"], []):
            status, out, err = self.call("mock", "/v1/x", *extra, "-H",
                                         "x-mock: fixture;name=openai_error_then_done.sse")
            self.assertEqual(status, 4, (extra, err))
            self.assertIn("the stream reported an error: rate limited mid-stream", err)
            self.assertIn(b"partial", out)

    def test_text_to_a_terminal_shows_control_characters_as_replacements(self):
        # Model text (which a prompt can steer) with ESC, BEL, CR and the C1 CSI: on a
        # terminal each is shown as U+FFFD (it could set the title, write the clipboard,
        # hide a line); to a pipe or a file the text is as the model wrote it.
        args = [harness.LLMGW, "call", "mock", "/v1/x", "--text", "-H",
                "x-mock: fixture;name=openai_controls.json"]
        out = self.on_a_terminal(args)
        bad = "\ufffd".encode()
        # The terminal turns each newline into CR LF.
        self.assertEqual(out, b"c" + bad + b"[31mred" + bad + b" " + bad + b"1m " + bad +
                         b"\r\n end\r\n")
        status, out, err = self.call(*args[2:])
        self.assertEqual(status, 0, err)
        self.assertEqual(out, "c\x1b[31mred\x07 \u009b1m \r\n end\n".encode())
        # The raw fallback (a stream of no known format), cut between the C1's two bytes.
        out = self.on_a_terminal([harness.LLMGW, "call", "mock", "/v1/x", "--text", "--quiet",
                                  "-H", "x-mock: fixture;name=unknown_c1.sse;chunk=54;interval_ms=100"])
        self.assertIn(b"a" + bad + b"1m b", out)
        self.assertNotIn(b"\x9b", out)

    def on_a_terminal(self, args):
        """Runs `args` with stdout on a pseudo-terminal; returns what it printed."""
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen(args, stdout=slave, stderr=subprocess.PIPE, env=self.env())
            os.close(slave)
            slave = None
            out = b""
            deadline = time.monotonic() + 30  # a call that hangs fails here, not at ctest's 600 s
            while time.monotonic() < deadline:
                if not select.select([master], [], [], 0.2)[0]:
                    continue
                try:
                    piece = os.read(master, 65536)
                except OSError:  # EIO: the terminal's other end closed
                    break
                if not piece:
                    break
                out += piece
            else:
                p.kill()
                self.fail("call on a terminal did not finish within 30 s")
            self.assertEqual(p.wait(timeout=10), 0, p.stderr.read())
            p.stderr.close()
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        return out

    def test_text_of_an_http_error_is_the_raw_body(self):
        status, out, err = self.call("mock", "/v1/x", "--text", "-H",
                                     'x-mock: status;code=400;body={"error":"bad"}')
        self.assertEqual(status, 1)
        self.assertEqual(out, b'{"error":"bad"}')

    def text_call(self, mock, *extra):
        return self.call("mock", "/v1/x", "--text", "-q", *extra, "-H", "x-mock: " + mock)

    def test_text_error_as_the_first_event_is_an_error(self):
        # It fell back to the raw body: the error's JSON on stdout, exit 0, nothing with -q.
        cases = {"openai_error_first.sse": "The server had an error while processing your "
                                           "request. Sorry about that!",
                 "anthropic_error_first.sse": "Overloaded",
                 "openai_responses_error_first.sse": "The server had an error while processing "
                                                     "your request."}
        for name, message in cases.items():
            with self.subTest(fixture=name):
                status, out, err = self.text_call(f"fixture;name={name}")
                self.assertEqual(status, 4, err)
                self.assertEqual(out, b"")
                self.assertEqual(err, f"llmgw: the stream reported an error: {message}\n")

    def test_an_error_message_reaches_stderr_without_control_characters(self):
        # Before: the decoded ESC, BEL, newline and CSI went to stderr as they were (a terminal
        # would take the clipboard write; a second "llmgw:" line looked like llmgw's own).
        for args in (("--text",), ()):
            with self.subTest(args=args):
                status, out, err = self.call("mock", "/v1/x", "-q", *args, "-H",
                                             "x-mock: fixture;name=openai_error_controls.sse")
                self.assertEqual(status, 4, err)
                self.assertEqual(err.count("\n"), 1, err)
                self.assertTrue(err.startswith("llmgw: the stream reported an error: bad \ufffd]52;"))
                for c in ("\x1b", "\x07", "\x9b"):
                    self.assertNotIn(c, err)
                self.assertIn("\ufffdllmgw: all good \ufffd2J", err)

    def test_text_gemini_stream_without_finish_reason_is_cut(self):
        with open(os.path.join(FIXTURES, "gemini_stream.sse"), "rb") as f:
            whole = f.read()
        keep = whole.rindex(b"data: ")  # all but the event with finishReason, then a clean end
        status, out, err = self.text_call(f"fixture_stream;name=gemini_stream.sse;keep={keep}")
        self.assertEqual(status, 4, err)
        self.assertEqual(out, b"Ciao! Come posso\n")
        self.assertIn("the Gemini stream ended before its end marker (finishReason)", err)

    def test_text_gemini_blocked_prompt_is_an_error(self):
        for name, reason in (("gemini_blocked.json", "SAFETY"),
                             ("gemini_blocked.sse", "PROHIBITED_CONTENT")):
            with self.subTest(fixture=name):
                status, out, err = self.text_call(f"fixture;name={name}")
                self.assertEqual(status, 4, err)
                self.assertEqual(out, b"")
                self.assertEqual(err, f"llmgw: Gemini blocked the prompt: {reason}\n")

    def test_text_event_that_is_not_json_is_an_error(self):
        status, out, err = self.text_call("fixture;name=openai_not_json.sse")
        self.assertEqual(status, 4, err)
        self.assertEqual(out, b"Hel!\n")
        self.assertIn("is not JSON", err)

    def test_text_stream_without_events_is_cut(self):
        for end in ("chunked", "close"):
            for name, keep in (("keepalive_only.sse", -1), ("done_only.sse", 0)):
                with self.subTest(fixture=name, end=end, keep=keep):
                    status, out, err = self.text_call(
                        f"fixture_stream;name={name};keep={keep};end={end}")
                    self.assertEqual(status, 4, err)
                    self.assertEqual(out, b"")
                    self.assertEqual(err, "llmgw: the event stream ended before its end marker: "
                                          "it had no events\n")

    def test_a_stream_held_open_after_its_end_marker_ends_there(self):
        # An upstream (or a proxy) that sends [DONE], message_stop or "done": true and then
        # keeps the body open: the SDKs stop reading at the marker, and so does call, a second
        # after it, exit 0. Before (found by a read-only review on 12-02): it waited for the
        # stream's idle timeout (120 s), then exited 4 with a TIMEOUT.
        with open(os.path.join(FIXTURES, "openai_chat.sse"), "rb") as f:
            raw = f.read()
        for name in ("openai_chat.sse", "anthropic_messages.sse", "ollama_chat.ndjson"):
            for text in (True, False):
                with self.subTest(fixture=name, text=text):
                    started = time.monotonic()
                    args = ["mock", "/v1/x", "-m", "20", "-H",
                            f"x-mock: fixture_stream;name={name};chunk=64;end=hold"]
                    status, out, err = self.call(*args, *(["--text"] if text else []))
                    elapsed = time.monotonic() - started
                    self.assertEqual(status, 0, err)
                    self.assertLess(elapsed, 8.0)
                    self.assertIn("kept the stream open 1000 ms after its end marker", err)
                    if name == "openai_chat.sse":
                        self.assertEqual(out, TEXT_FIXTURES[name].encode() if text else raw)
        # A reset after the marker, in place of the last chunk: whole too, as the SDKs read it
        # (it exited 4 with the network error, found by a review of the change).
        for text in (True, False):
            with self.subTest(end="reset", text=text):
                status, out, err = self.call(
                    "mock", "/v1/x", *(["--text"] if text else []), "-H",
                    "x-mock: fixture_stream;name=openai_chat.sse;end=reset")
                self.assertEqual(status, 0, err)
                self.assertIn("the stream's transfer failed after its end marker", err)
                self.assertEqual(out, TEXT_FIXTURES["openai_chat.sse"].encode() if text else raw)
        # -q: no notice; the upstream's connection closed (the mock sees the client leave).
        status, out, err = self.call("mock", "/v1/held", "-q", "-H",
                                     "x-mock: fixture_stream;name=openai_chat.sse;end=hold")
        self.assertEqual((status, err), (0, ""))
        self.assertTrue(self.wait_closed("/v1/held"))

    def test_text_after_an_over_long_event_the_end_marker_still_counts(self):
        # The raw bytes from the long event on, on a line of their own after the text; a
        # missing [DONE] after them exited 0.
        status, out, err = self.call("mock", "/v1/x", "--text", "-H", "x-mock: sse_long;done=0")
        self.assertEqual(status, 4, err)
        self.assertTrue(out.startswith(b"A\ndata: {"), out[:40])
        self.assertTrue(out.endswith(b'"B"}}]}\n\n'), out[-40:])
        self.assertIn("an event is longer than 1048576 bytes", err)
        self.assertIn("ended before its end marker (data: [DONE])", err)
        status, out, err = self.call("mock", "/v1/x", "--text", "-H", "x-mock: sse_long;done=1")
        self.assertEqual(status, 0, err)
        self.assertTrue(out.endswith(b"data: [DONE]\n\n"))

    def test_text_gemini_json_array_streams_as_it_arrives(self):
        self.assert_text_comes_before_the_rest(
            "fixture_stream;name=gemini_array.json;chunk=40;interval_ms=100", b"Once upon a time",
            b"unicorn")

    def test_text_ollama_json_lines_stream_as_they_arrive(self):
        # Before, the lines were held until the body ended, then printed raw with "not of a
        # known format" (found by a trial with the ollama package).
        self.assert_text_comes_before_the_rest(
            "fixture_stream;name=ollama_chat.ndjson;chunk=40;interval_ms=100", b"Once upon a time",
            b"unicorn")
        status, out, err = self.text_call("fixture_stream;name=ollama_chat.ndjson")
        self.assertEqual((status, out, err), (0, b"Once upon a time, a unicorn sang.\n", ""))
        # Without its "done": true line, cut (exit 4), with or without --text.
        with open(os.path.join(FIXTURES, "ollama_chat.ndjson"), "rb") as f:
            keep = f.read().index(b'{"model":"llama3.2","created_at":"2026-11-30T13:00:00.300Z"')
        status, out, err = self.text_call(f"fixture_stream;name=ollama_chat.ndjson;keep={keep}")
        self.assertEqual(status, 4, err)
        self.assertEqual(out, b"Once upon a time, a unicorn sang.\n")
        self.assertIn('the Ollama stream ended before its end marker ("done": true)', err)
        status, _, err = self.call("mock", "/v1/x", "-H",
                                   f"x-mock: fixture_stream;name=ollama_chat.ndjson;keep={keep}")
        self.assertEqual(status, 4, err)

    def test_text_gemini_json_array_cut_or_with_an_error_is_4_without_raw_json(self):
        with open(os.path.join(FIXTURES, "gemini_array.json"), "rb") as f:
            keep = f.read().index(b", a unicorn") + 5
        for end in ("close", "reset"):
            with self.subTest(end=end):
                status, out, err = self.text_call(
                    f"fixture_stream;name=gemini_array.json;keep={keep};end={end}")
                self.assertEqual(status, 4, err)
                self.assertEqual(out, b"Once upon a time\n")
                if end == "close":  # a clean end: only the missing ] tells
                    self.assertIn("the Gemini stream ended before its end marker", err)
        status, out, err = self.text_call("fixture_stream;name=gemini_array_error.json")
        self.assertEqual(status, 4, err)
        self.assertEqual(out, b"Once upon a time\n")
        self.assertEqual(err, "llmgw: the stream reported an error: An internal error has "
                              "occurred.\n")

    # ---- auth from the environment ----
    def auth_headers(self):
        return [{k.lower(): v for k, v in r["headers"]} for r in self.mock.requests()]

    def test_env_key_is_added_and_never_printed(self):
        env = {KEY_VAR: SECRET}
        runs = [
            self.call("mock", "/v1/x", "-i", "-H", "x-mock: status;code=200;body={}", env=env),
            self.call("mock", "/v1/x", "-i", "-H", "x-mock: status;code=401;body={}", env=env),
            self.call("mock", "/v1/x", "-H", "x-mock: status;code=503;body={}", env=env),
            self.call("mock", "/v1/x", "-H", "x-mock: hang", "--timeout", "300", env=env),
            self.call("mock", "/v1/x", "--text", "-H", "x-mock: sse_cut;events=1", env=env),
            self.call("dead", "/v1/x", env=env),
            self.call("xkey", "/v1/x", "-H", "x-mock: status;code=200;body={}", env=env),
        ]
        for status, out, err in runs:
            self.assertNotIn(SECRET.encode(), out)
            self.assertNotIn(SECRET, err)
            self.assertNotIn(SECRET[-8:], err)
        seen = self.auth_headers()
        self.assertGreaterEqual(len(seen), 6)
        for headers in seen[:-1]:
            self.assertEqual(headers["authorization"], "Bearer " + SECRET)
        self.assertEqual(seen[-1]["x-api-key"], SECRET)
        self.assertNotIn("authorization", seen[-1])

    def test_headers_as_curl_reads_them(self):
        # 'Name:' removes a header llmgw would send (the key from the environment, the
        # User-Agent, the Content-Type -d adds); 'Name;' sends it empty; a later 'Name: v'
        # brings it back.
        env = {KEY_VAR: SECRET}
        status, _, err = self.call("mock", "/v1/x", "-d", "{}", "-H", "Authorization:", "-H",
                                   "User-Agent:", "-H", "Content-Type:", "-H", "X-Empty;",
                                   env=env)
        self.assertEqual(status, 0, err)
        status, _, err = self.call("mock", "/v1/x", "-H", "X-Back:", "-H", "X-Back: again",
                                   env=env)
        self.assertEqual(status, 0, err)
        first, second = [{k.lower(): v for k, v in r["headers"]} for r in self.mock.requests()]
        for name in ("authorization", "user-agent", "content-type"):
            self.assertNotIn(name, first)
        self.assertEqual(first["x-empty"], "")
        self.assertEqual(second["x-back"], "again")
        self.assertEqual(second["authorization"], "Bearer " + SECRET)

    def test_an_empty_header_removes_only_what_llmgw_would_add(self):
        # curl 7.88 against a listener: 'Name:' keeps curl from adding its own header of that
        # name; one given with another -H, before or after it, is sent all the same. call
        # removed that one too, so -H 'X-A: 1' -H 'X-A:' sent no X-A. llmgw's own: the
        # User-Agent, -d's Content-Type, the service's default header, the key.
        env = {KEY_VAR: SECRET}
        cases = [
            (["-H", "X-A: 1", "-H", "X-A:"], "x-a", [("X-A", "1")]),
            (["-H", "X-A:", "-H", "X-A: 1"], "x-a", [("X-A", "1")]),
            (["-H", "X-A: 1", "-H", "X-A: 2", "-H", "X-A:"], "x-a", [("X-A", "1"), ("X-A", "2")]),
            (["-H", "x-a: 1", "-H", "X-A:"], "x-a", [("x-a", "1")]),
            (["-H", "X-A;", "-H", "X-A:"], "x-a", [("X-A", "")]),
            (["-H", "User-Agent: mine", "-H", "User-Agent:"], "user-agent",
             [("User-Agent", "mine")]),
            (["-H", "User-Agent:", "-H", "User-Agent: mine"], "user-agent",
             [("User-Agent", "mine")]),
            (["-H", "User-Agent:"], "user-agent", []),
            ([], "x-default", [("x-default", "from-config")]),
            (["-H", "X-Default: mine", "-H", "X-Default:"], "x-default", [("X-Default", "mine")]),
            (["-H", "X-Default:"], "x-default", []),
            (["-d", "{}", "-H", "Content-Type: text/plain", "-H", "Content-Type:"],
             "content-type", [("Content-Type", "text/plain")]),
            (["-d", "{}", "-H", "Content-Type:"], "content-type", []),
            # The key from the environment is llmgw's own: removed; the user's is sent.
            (["-H", "Authorization: Bearer mine", "-H", "Authorization:"], "authorization",
             [("Authorization", "Bearer mine")]),
            (["-H", "Authorization:"], "authorization", []),
        ]
        for args, name, _ in cases:
            status, _, err = self.call("mock", "/v1/x", *args, env=env)
            self.assertEqual(status, 0, (args, err))
        records = self.mock.requests()
        self.assertEqual(len(records), len(cases))
        for (args, name, want), record in zip(cases, records):
            with self.subTest(args=args):
                self.assertEqual([(k, v) for k, v in record["headers"] if k.lower() == name],
                                 want)

    def test_an_option_given_twice_takes_its_last_value(self):
        # As curl and git read them (a script's defaults, then an override); it was a usage
        # error. -H stays repeatable, and two -d are still an error (curl would join them).
        status, out, err = self.call("mock", "/v1/x", "-X", "GET", "-X", "POST", "--timeout", "1",
                                     "--timeout", "5000", "-H", "X-A: 1", "-H", "X-B: 2")
        self.assertEqual(status, 0, err)
        (record,) = self.mock.requests()
        self.assertEqual(record["method"], "POST")
        headers = {k.lower(): v for k, v in record["headers"]}
        self.assertEqual((headers["x-a"], headers["x-b"]), ("1", "2"))
        status, _, err = self.call("mock", "/v1/x", "-d", "a", "-d", "b")
        self.assertEqual(status, 2, err)

    def test_a_control_character_in_a_header_value_is_a_usage_error(self):
        # A CR or LF would start a header of its own: libcurl (every https:// service) wrote
        # it as given, and the native client answered an UNKNOWN 500 (exit 1). Now refused
        # before any client is chosen (libcurl's own refusal: unit upstream.curl_attempt).
        for value in ("a\r\nInjected: yes", "a\nb", "a\x01b", "a\x7fb"):  # (argv holds no NUL)
            status, out, err = self.call("mock", "/v1/x", "-H", "X-CR: " + value,
                                         env={"LLMGW_UPSTREAM_CLIENT": "curl"})
            self.assertEqual(status, 2, (value, err))
            self.assertIn("control character", err)
            self.assertEqual(out, b"")
        self.assertEqual(self.mock.requests(), [])

    def test_an_env_key_is_trimmed_and_refused_with_a_control_character(self):
        # As -H's values: a control character was sent as it is ("s\x01k"); blanks and line
        # ends around a key made "Bearer  sek" (two spaces).
        for key in ("s\x01k", "s\x7fk", "a\nb"):
            status, out, err = self.call("mock", "/v1/x", env={KEY_VAR: key})
            self.assertEqual((status, out), (2, b""), (key, err))
            self.assertIn("the value of " + KEY_VAR + " contains a control character", err)
        self.assertEqual(self.mock.requests(), [])
        status, _, err = self.call("mock", "/v1/x", env={KEY_VAR: " \t" + SECRET + "\n"})
        self.assertEqual(status, 0, err)
        self.assertEqual(self.auth_headers()[0]["authorization"], "Bearer " + SECRET)

    def test_env_key_not_added_when_the_request_has_auth(self):
        env = {KEY_VAR: SECRET}
        self.call("mock", "/v1/x", "-H", "authorization: Bearer mine", env=env)
        self.call("mock", "/v1/x", "-H", "x-api-key: other", env=env)
        self.call("xkey", "/v1/x", "-H", "X-API-KEY: mine", env=env)
        self.call("mock", "/v1/x?key=abc", env=env)
        self.call("mock", "/v1/x", env={KEY_VAR: ""})
        self.call("mock", "/v1/x")
        seen = self.auth_headers()
        self.assertEqual(len(seen), 6)
        self.assertEqual(seen[0]["authorization"], "Bearer mine")
        self.assertNotIn("authorization", seen[1])
        self.assertEqual(seen[2]["x-api-key"], "mine")
        for headers in seen[3:]:
            self.assertNotIn("authorization", headers)
        for record in self.mock.requests():
            self.assertNotIn(SECRET, json.dumps(record))


class CallViaGatewayTest(CallBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gw = harness.Gateway(cls.mock.port, extra_toml=f"""
[gateway]
max_request_bytes = 100000

[services.small]
base_url = "http://127.0.0.1:{cls.mock.port}"
max_response_bytes = 1000
max_retries = 0
""")
        cls.via = f"http://127.0.0.1:{cls.gw.port}"

    @classmethod
    def tearDownClass(cls):
        cls.gw.stop()
        super().tearDownClass()

    def test_via_goes_through_the_gateway(self):
        status, out, err = self.call("mock", "/v1/models", "--via", self.via, "-i",
                                     "-H", "x-mock: status;code=200;body={}",
                                     env={KEY_VAR: SECRET})
        self.assertEqual(status, 0, err)
        self.assertNotIn(SECRET.encode(), out)
        head, body = out.split(b"\r\n\r\n", 1)
        fields = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip()
                  for l in head.decode().split("\r\n")[1:]}
        self.assertEqual(body, b"{}")
        [record] = self.mock.requests()
        received = {k.lower(): v for k, v in record["headers"]}
        # The gateway's id, its default header from its own config, and call's key.
        self.assertEqual(received["x-request-id"], fields["x-gateway-request-id"])
        self.assertEqual(received["x-default-header"], "from-config")
        self.assertEqual(received["authorization"], "Bearer " + SECRET)
        self.assertEqual(fields["x-processing-mode"], "edge")
        self.assertEqual(record["target"], "/v1/models")

    def test_via_stream_with_text(self):
        status, out, err = self.call("mock", "/v1/x", "--via", self.via + "/", "--text",
                                     "-H", "x-mock: fixture;name=openai_chat.sse")
        self.assertEqual(status, 0, err)
        self.assertEqual(out.decode(), TEXT_FIXTURES["openai_chat.sse"])

    def test_via_gateway_errors_map_to_exit_statuses(self):
        status, out, err = self.call("dead", "/v1/x", "--via", self.via)
        self.assertEqual(status, 3, err)
        self.assertEqual(out, b"")
        self.gateway_error(err, "CONNECTION")
        # An upstream's own error is an answer, not a gateway error.
        status, out, err = self.call("mock", "/v1/x", "--via", self.via,
                                     "-H", 'x-mock: status;code=503;body={"error":"up"}')
        self.assertEqual(status, 1, err)
        self.assertEqual(out, b'{"error":"up"}')
        # An upstream's error of the gateway's own shape (another llmgw behind this one) is
        # still the upstream's: its request_id is not this gateway's. It was taken for the
        # gateway's TIMEOUT: exit 3, stdout empty.
        body = ('{"error":{"message":"m","type":"TIMEOUT","request_id":"up-1",'
                '"timestamp":"t"},"status":504}')
        status, out, err = self.call("mock", "/v1/x", "--via", self.via,
                                     "-H", "x-mock: status;code=504;body=" + body)
        self.assertEqual((status, out), (1, body.encode()), err)

    def test_via_request_body_over_the_gateways_limit_is_1_not_a_cut_answer(self):
        # The gateway refuses the body (413 SIZE_LIMIT, before anything goes upstream): an HTTP
        # error, exit 1, with the gateway's message on stderr. It was exit 4, "the answer was
        # cut", as for an answer over the limit, which stays 4 (by Content-Length, or chunked).
        # Just over, and more than the sockets hold before the 413; by both clients.
        for size, client in itertools.product((100001, 300000), ("native", "curl")):
            with self.subTest(size=size, client=client):
                status, out, err = self.call("mock", "/v1/x", "--via", self.via, "-d", "@-",
                                             stdin=b"x" * size,
                                             env={"LLMGW_UPSTREAM_CLIENT": client})
                self.assertEqual((status, out), (1, b""), err)
                self.assertIn("llmgw: the gateway --via names refused the request: its body is "
                              "over the gateway's max_request_bytes\n", err)
                doc = self.gateway_error(err, "SIZE_LIMIT")
                self.assertEqual(doc["error"]["message"],
                                 "request body exceeds the limit of 100000 bytes")
        self.assertEqual(self.mock.requests(), [])
        for mock in ("bytes;n=5000;length=1", "bytes;n=50000;length=0"):
            with self.subTest(mock=mock):
                status, out, err = self.call("small", "/v1/x", "--via", self.via, "-d", "{}",
                                             "-H", "x-mock: " + mock)
                self.assertEqual(status, 4, err)
                self.assertLessEqual(len(out), 1000)
                self.assertNotIn("max_request_bytes", err)
                doc = self.gateway_error(err, "SIZE_LIMIT")
                self.assertIn("upstream response", doc["error"]["message"])

    def test_via_cut_stream_is_4(self):
        status, out, err = self.call("mock", "/v1/x", "--via", self.via, "-i",
                                     "-H", "x-mock: sse_cut;events=2;interval_ms=50")
        self.assertEqual(status, 4, err)
        head, body = out.split(b"\r\n\r\n", 1)
        self.assertIn(b"tok1", body)
        self.assertIn(b"event: error", body)  # the gateway's last event, then the cut
        gateway_id = [l.split(":", 1)[1].strip() for l in head.decode().split("\r\n")
                      if l.lower().startswith("x-gateway-request-id:")][0]
        self.assertEqual(self.gateway_error(err, "NETWORK")["error"]["request_id"], gateway_id)

    def test_text_cut_before_any_text_prints_nothing_direct_or_via(self):
        # The first event (the role, no text), then a reset: the same stdout both ways. Direct
        # printed a lone newline; through the gateway (its error event said) none.
        with open(os.path.join(FIXTURES, "openai_chat.sse"), "rb") as f:
            first_event = len(f.read().split(b"\n\n", 1)[0]) + 2
        mock = f"x-mock: fixture_stream;name=openai_chat.sse;keep={first_event};end=reset"
        for via in ([], ["--via", self.via]):
            with self.subTest(via=bool(via)):
                status, out, err = self.call("mock", "/v1/x", "--text", "-H", mock, *via)
                self.assertEqual(status, 4, err)
                self.assertEqual(out, b"")
                self.gateway_error(err, "NETWORK")

    def test_via_without_a_gateway_is_3(self):
        status, out, err = self.call("mock", "/v1/x", "--via",
                                     f"http://127.0.0.1:{harness.dead_port()}")
        self.assertEqual(status, 3, err)
        self.gateway_error(err, "CONNECTION")
        # Before: only "upstream connection failed", as if the service were down.
        self.assertIn("llmgw: the gateway --via names did not answer: is 'llmgw serve' running "
                      "there?", err)


if __name__ == "__main__":
    unittest.main()
