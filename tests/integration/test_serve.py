"""Integration tests for `llmgw serve` (issue: serve core): real gateway, real mock upstream."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import socket
import tempfile
import threading
import time
import unittest
import uuid

import harness

SLOW_TOML = """
[services.slow]
base_url = "http://127.0.0.1:{port}"
timeout_ms = 1000
max_retries = 0
"""


class ServeTest(harness.SharedGatewayTest):
    gateway_private_dns = True  # test_dns_failure: no query leaves loopback

    @classmethod
    def extra_toml(cls, mock_port):
        return SLOW_TOML.format(port=mock_port)

    # ---- routes of SPEC §9 ----
    def test_health(self):
        for path in ("/health", "/gateway/health"):
            status, headers, body = self.gw.request("GET", path)
            self.assertEqual(status, 200)
            doc = json.loads(body)
            self.assertEqual(doc["status"], "ok")
            self.assertEqual(doc["service"], "llmgw")
            self.assertIn("version", doc)
            self.assertIn("uptime_s", doc)
            self.assertIn("x-request-id", headers)
        status, _, body = self.gw.request("HEAD", "/health")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")

    def test_welcome_page(self):
        status, headers, body = self.gw.request("GET", "/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["content-type"])
        self.assertIn(b"llmgw", body)
        self.assertIn(b"mock", body)
        # The examples name the address the page was reached at (before: always
        # 127.0.0.1:8787, another gateway or none under --port).
        self.assertIn(b"curl http://127.0.0.1:%d/health" % self.gw.port, body)
        raw = harness.raw_request(self.gw.port, b"GET / HTTP/1.1\r\nHost: odd_name!\r\n"
                                  b"Connection: close\r\n\r\n")
        self.assertNotIn(b"odd_name", raw)  # an odd Host is not echoed: the configured address
        self.assertIn(b"curl http://127.0.0.1:%d/health" % self.gw.port, raw)
        # An invalid Host is a 400 (RFC 9112 §3.2), which does not echo it either.
        raw = harness.raw_request(self.gw.port, b"GET / HTTP/1.1\r\nHost: <script>\r\n"
                                  b"Connection: close\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 400 "), raw[:300])
        self.assertNotIn(b"<script>", raw)

    def test_preflight(self):
        status, headers, body = self.gw.request(
            "OPTIONS", "/gateway/mock/v1/chat/completions",
            headers={"Origin": "http://app.test", "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization, x-custom"})
        self.assertEqual(status, 204)
        self.assertEqual(body, b"")
        self.assertEqual(headers["access-control-allow-origin"], "*")
        self.assertEqual(headers["access-control-allow-headers"], "authorization, x-custom")
        self.assertEqual(headers["access-control-max-age"], "86400")
        self.assertIn("POST", headers["access-control-allow-methods"])
        self.assertEqual(self.mock.requests(), [])

    def assert_gateway_error(self, status, headers, body, want_status, want_type):
        self.assertEqual(status, want_status, body)
        self.assertEqual(headers["content-type"], "application/json")
        doc = json.loads(body)
        self.assertEqual(doc["status"], want_status)
        self.assertEqual(doc["error"]["type"], want_type)
        self.assertTrue(doc["error"]["message"])
        self.assertEqual(doc["error"]["request_id"], headers["x-request-id"])
        self.assertRegex(doc["error"]["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # What the SDKs' error schemas need (Anthropic, Cohere, Responses; Gemini; OpenAI).
        self.assertEqual((doc["type"], doc["message"], doc["code"], doc["sequence_number"]),
                         ("error", doc["error"]["message"], None, 0))
        self.assertEqual((doc["error"]["code"], doc["error"]["status"], doc["error"]["param"]),
                         (None, want_type, None))
        self.assertEqual(headers["access-control-allow-origin"], "*")
        return doc

    def test_bare_gateway_paths_are_400(self):
        for path in ("/gateway", "/gateway/", "/gateway/mock"):
            status, headers, body = self.gw.request("GET", path)
            doc = self.assert_gateway_error(status, headers, body, 400, "BAD_REQUEST")
            self.assertIn("mock", doc["error"]["message"])

    def test_unknown_service_and_route_are_404(self):
        status, headers, body = self.gw.request("GET", "/gateway/nosuch/v1/models")
        doc = self.assert_gateway_error(status, headers, body, 404, "NOT_FOUND")
        self.assertIn("mock", doc["error"]["message"])
        for path in ("/gatewayfoo/mock/v1", "/v1/chat/completions", "/favicon.ico"):
            status, headers, body = self.gw.request("GET", path)
            self.assert_gateway_error(status, headers, body, 404, "NOT_FOUND")
        self.assertEqual(self.mock.requests(), [])

    def test_rejected_path_forms_are_400_and_never_reach_upstream(self):
        bad = ["/gateway/mock/v1/../secret", "/gateway/mock/v1/%2e%2e/secret",
               "/gateway/mock/v1/.%2E/x", "/gateway/mock//evil.test/x", "/gateway//mock/v1",
               "/gateway/mock/v1%2fx", "/gateway/mock/v1/%5c..", "/gateway/mock/@evil.test/x",
               "/gateway/mock@evil.test/v1", "/gateway/mock/v1/%00x", "/gateway/mock/./v1"]
        for path in bad:
            raw = harness.raw_request(self.gw.port, f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                                      "Connection: close\r\n\r\n".encode())
            self.assertTrue(raw.startswith(b"HTTP/1.1 400 "), (path, raw[:200]))
            self.assertIn(b'"BAD_REQUEST"', raw, path)
        raw = harness.raw_request(self.gw.port, b"GET ftp://evil.test/x HTTP/1.1\r\nHost: evil.test"
                                  b"\r\nConnection: close\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 400 "), raw[:200])
        self.assertEqual(self.mock.requests(), [])

    # ---- proxying ----
    def test_method_path_query_and_body_pass_byte_for_byte(self):
        body = bytes(range(256)) * 40
        target = "/v1/things/a%20b/c;d?x=1&y=%2F%zz&&empty=&plus=a+b"
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            status, headers, data = self.gw.request(
                method, "/gateway/mock" + target, body=body,
                headers={"Content-Type": "application/octet-stream"})
            self.assertEqual(status, 200, data)
            echo = json.loads(data)
            self.assertEqual(echo["method"], method)
            self.assertEqual(echo["target"], target)
            self.assertEqual(echo["body"].encode("latin-1"), body)
        status, _, data = self.gw.request("GET", "/gateway/mockbase/v1/models?limit=2")
        self.assertEqual(json.loads(data)["target"], "/base/path/v1/models?limit=2")

    def test_alias_routes_to_service(self):
        status, _, data = self.gw.request("GET", "/gateway/mock-alias/v1/models")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["target"], "/v1/models")

    def test_response_body_binary_and_compressed_pass_untouched(self):
        import gzip
        status, headers, data = self.gw.request(
            "GET", "/gateway/mock/v1/x", headers={"x-mock": "gzip", "Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-encoding"], "gzip")
        self.assertEqual(int(headers["content-length"]), len(data))
        self.assertEqual(json.loads(gzip.decompress(data))["target"], "/v1/x")
        status, headers, data = self.gw.request(
            "GET", "/gateway/mock/v1/x", headers={"x-mock": "bytes;n=300000;length=0"})
        self.assertEqual(status, 200)
        self.assertEqual(data, b"x" * 300000)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")

    def test_request_headers_filtered_and_added(self):
        status, _, data = self.gw.request("POST", "/gateway/mock/v1/chat/completions", body=b"{}",
                                          headers={
                                              "Content-Type": "application/json",
                                              "Connection": "keep-alive, X-Hop",
                                              "X-Hop": "drop me",
                                              "Cookie": "session=1",
                                              "X-Forwarded-For": "10.0.0.1",
                                              "X-Real-IP": "10.0.0.1",
                                              "CF-Connecting-IP": "10.0.0.1",
                                              "X-Vercel-Id": "v",
                                              "Forwarded": "for=1.2.3.4",
                                              "X-Stainless-Lang": "python",
                                              "anthropic-beta": "tools",
                                              "OpenAI-Organization": "org",
                                              "X-Server-Timeout": "30",
                                              "Authorization": "Bearer sk-test",
                                          })
        self.assertEqual(status, 200, data)
        sent = {k.lower(): v for k, v in json.loads(data)["headers"]}
        for dropped in ("x-hop", "cookie", "x-forwarded-for", "x-real-ip", "cf-connecting-ip",
                        "x-vercel-id", "forwarded", "te", "proxy-connection"):
            self.assertNotIn(dropped, sent)
        self.assertEqual(sent["x-stainless-lang"], "python")
        self.assertEqual(sent["anthropic-beta"], "tools")
        self.assertEqual(sent["openai-organization"], "org")
        self.assertEqual(sent["x-server-timeout"], "30")
        self.assertEqual(sent["authorization"], "Bearer sk-test")
        self.assertEqual(sent["x-default-header"], "from-config")
        self.assertTrue(sent["user-agent"].startswith("llmgw/"))
        self.assertTrue(sent["x-request-id"])
        self.assertEqual(sent["content-length"], "2")
        self.assertNotIn("accept", sent)  # curl must not invent one
        self.assertNotIn("expect", sent)

    def test_client_default_header_wins(self):
        _, _, data = self.gw.request("GET", "/gateway/mock/v1/x",
                                     headers={"X-Default-Header": "client", "User-Agent": "sdk/1"})
        sent = {k.lower(): v for k, v in json.loads(data)["headers"]}
        self.assertEqual(sent["x-default-header"], "client")
        self.assertEqual(sent["user-agent"], "sdk/1")

    def test_response_fields_the_upstreams_connection_names_are_dropped(self):
        # RFC 9110 §7.6.1: a field named by Connection is hop-by-hop, as Connection itself.
        status, headers, _ = self.gw.request(
            "GET", "/gateway/mock/v1/x",
            headers={"x-mock": "headers;Connection=x-hop, X-Other-Hop;X-Hop=1;X-Other-Hop=2;"
                               "X-Kept=3"})
        self.assertEqual(status, 200)
        self.assertNotIn("x-hop", headers)
        self.assertNotIn("x-other-hop", headers)
        self.assertEqual(headers["x-kept"], "3")

    def test_response_headers_filtered_and_added(self):
        status, headers, _ = self.gw.request(
            "GET", "/gateway/mock/v1/x",
            headers={"x-mock": "headers;Server=mock;X-Powered-By=php;Set-Cookie=a=b;CF-Ray=1;"
                               "X-Upstream=kept"})
        self.assertEqual(status, 200)
        for dropped in ("server", "x-powered-by", "set-cookie", "cf-ray"):
            self.assertNotIn(dropped, headers)
        self.assertEqual(headers["x-upstream"], "kept")
        self.assertEqual(headers["x-processing-mode"], "edge")
        self.assertRegex(headers["x-processing-time"], r"^\d+\.\d\d$")
        self.assertEqual(headers["x-request-id"], headers["x-gateway-request-id"])
        self.assertIn("X-Request-Id", headers["access-control-expose-headers"])
        self.assertIn("timeout=75", headers["keep-alive"])

    def test_the_gateways_own_fields_from_an_upstream_are_not_relayed_twice(self):
        # An upstream that is a gateway too (another llmgw) sends X-Processing-Mode and the
        # rest: they were relayed beside the gateway's own, two values for each.
        sock = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        sock.sendall(b"GET /gateway/mock/v1/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"x-mock: headers;X-Processing-Mode=upstream;X-Processing-Time=9.99;"
                     b"X-Gateway-Request-Id=up;X-Fallback=up\r\n\r\n")
        raw, _ = harness.read_to_end(sock, 10)
        sock.close()
        head = raw.partition(b"\r\n\r\n")[0].lower()
        for name in (b"x-processing-mode", b"x-processing-time", b"x-gateway-request-id"):
            self.assertEqual(head.count(b"\r\n" + name + b":"), 1, (name, head))
        self.assertNotIn(b"\r\nx-fallback:", head)
        self.assertIn(b"\r\nx-processing-mode: edge\r\n", head)
        self.assertIn(b"x-should-retry", head)  # exposed to browsers (CORS), with Retry-After

    # RFC 9110 §6.6.1: an origin server with a clock sends Date; a recipient that forwards an
    # answer without one adds it. Before: no Date on any answer.
    def date_fields(self, request):
        """The Date values in the head of the answer to raw `request` (Connection: close)."""
        raw = harness.raw_request(self.gw.port, request, timeout=10)
        head = raw.partition(b"\r\n\r\n")[0].decode("latin-1")
        self.assertTrue(head.startswith("HTTP/1.1 "), raw[:300])
        return [line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
                if line.split(":", 1)[0].lower() == "date"]

    def assert_date_is_now(self, value):
        import email.utils
        self.assertRegex(value, r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|"
                                r"Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")
        self.assertLess(abs(email.utils.parsedate_to_datetime(value).timestamp() - time.time()), 5)

    def test_every_answer_carries_a_date(self):
        def get(target, method=b"GET", extra=b""):
            return (method + b" " + target + b" HTTP/1.1\r\nHost: x\r\n" + extra +
                    b"Connection: close\r\n\r\n")
        for request in (get(b"/health"), get(b"/health", b"HEAD"), get(b"/"), get(b"/nope"),
                        get(b"/gateway"), get(b"/gateway/unknown/v1/x"),
                        get(b"/gateway/mock/v1/x", b"OPTIONS",
                            b"Origin: http://a.test\r\nAccess-Control-Request-Method: POST\r\n"),
                        get(b"/gateway/mock/v1/x"),  # the mock's echo has no Date
                        get(b"/gateway/mock/v1/x", extra=b"x-mock: status;code=503\r\n"),
                        get(b"/gateway/mock/v1/x", extra=b"x-mock: sse;events=2;interval_ms=10\r\n"),
                        get(b"/gateway/slow/v1/x", extra=b"x-mock: hang\r\n"),  # 504 TIMEOUT
                        b"GET /gateway/mock/v1/x HTTP/1.1\r\n\r\n"):  # refused: 400, no Host
            with self.subTest(request=request):
                dates = self.date_fields(request)
                self.assertEqual(len(dates), 1, dates)
                self.assert_date_is_now(dates[0])
        # The upstream's own Date is relayed as it is, and no second one added.
        dates = self.date_fields(get(b"/gateway/mock/v1/x",
                                     extra=b"x-mock: headers;Date=Sun, 06 Nov 1994 08:49:37 GMT\r\n"))
        self.assertEqual(dates, ["Sun, 06 Nov 1994 08:49:37 GMT"])

    def test_background_lane_header(self):
        status, headers, _ = self.gw.request("POST", "/gateway/mock/v1/embeddings", body=b"{}",
                                             headers={"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        self.assertEqual(headers["x-processing-mode"], "background")

    def test_upstream_status_passes_through_unwrapped(self):
        status, headers, body = self.gw.request("GET", "/gateway/mock/v1/x",
                                                headers={"x-mock": "status;code=404;body=nope"})
        self.assertEqual(status, 404)
        self.assertEqual(body, b"nope")

    def test_sse_caching_headers_replaced_wherever_they_stand(self):
        # The upstream's Cache-Control and X-Accel-Buffering come before its Content-Type:
        # the client still gets exactly one of each, ours, and the events after them.
        for order in ("cache_first=1", "cache_first=0"):
            data = harness.raw_request(self.gw.port, (
                "POST /gateway/mock/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                f"x-mock: sse;events=2;interval_ms=10;{order}\r\nContent-Length: 2\r\n"
                "Connection: close\r\n\r\n{}").encode())
            head, _, body = data.partition(b"\r\n\r\n")
            lines = [l.lower() for l in head.split(b"\r\n")[1:]]
            self.assertEqual([l for l in lines if l.startswith(b"cache-control:")],
                             [b"cache-control: no-cache"], order)
            self.assertEqual([l for l in lines if l.startswith(b"x-accel-buffering:")],
                             [b"x-accel-buffering: no"], order)
            self.assertIn(b"content-type: text/event-stream", lines, order)
            self.assertIn(b"data: [DONE]", body, order)

    def test_keep_alive_reuses_connection(self):
        c = self.gw.conn()
        first_socket = None
        for i in range(5):
            c.request("GET", "/gateway/mock/v1/x")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertNotEqual((r.getheader("Connection") or "").lower(), "close")
            r.read()
            # http.client would quietly open a new connection after a close: check it did not.
            self.assertIsNotNone(c.sock, i)
            first_socket = first_socket or c.sock
            self.assertIs(c.sock, first_socket, i)
        c.close()

    # ---- SSE ----
    def test_sse_events_arrive_as_sent(self):
        c = self.gw.conn()
        c.request("POST", "/gateway/mock/v1/chat/completions",
                  body=json.dumps({"stream": True}),
                  headers={"Content-Type": "application/json", "x-mock": "sse;events=6;interval_ms=200"})
        start = time.monotonic()
        r = c.getresponse()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.getheader("Cache-Control"), "no-cache")
        self.assertEqual(r.getheader("X-Accel-Buffering"), "no")
        self.assertEqual(r.getheader("X-Processing-Mode"), "edge")
        arrivals, buf = [], b""
        while True:
            line = r.readline()
            if not line:
                break
            if line.startswith(b"data: "):
                arrivals.append(time.monotonic() - start)
                buf += line
        c.close()
        self.assertEqual(len(arrivals), 7)  # 6 events + [DONE]
        self.assertIn(b"data: [DONE]", buf)
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:5])]
        for gap in gaps:
            self.assertGreater(gap, 0.12, arrivals)
            self.assertLess(gap, 0.45, arrivals)
        self.assertLess(arrivals[0], 0.3, arrivals)

    def test_what_one_upstream_read_brought_leaves_in_one_write(self):
        # The mock writes its head with the first event, and its last event with [DONE] and
        # the last chunk, each in one write: the gateway writes each of them on as one, so the
        # client receives three data segments (six when every piece went out on its own).
        answer, segments = harness.segments_of_answer(self.gw.port,
                                                     harness.together_request("mock"))
        self.assertTrue(answer.startswith(b"HTTP/1.1 200 "), answer[:200])
        self.assertEqual(answer.count(b"data: {"), 3, answer)
        self.assertTrue(answer.endswith(b"data: [DONE]\n\n\r\n0\r\n\r\n"), answer[-100:])
        self.assertEqual(segments, 3, answer)

    def test_concurrent_streams_complete(self):
        results, errors = {}, []

        def one(i):
            try:
                c = self.gw.conn(timeout=60)
                c.request("POST", f"/gateway/mock/v1/chat/completions?n={i}", body=b'{"stream":true}',
                          headers={"Content-Type": "application/json",
                                   "x-mock": "sse;events=10;interval_ms=50"})
                r = c.getresponse()
                results[i] = (r.status, r.read())
                c.close()
            except Exception as e:  # noqa: BLE001
                errors.append((i, repr(e)))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(200)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=90)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 200)
        for i, (status, body) in results.items():
            self.assertEqual(status, 200)
            self.assertEqual(body.count(b"data: "), 11, i)
            self.assertTrue(body.endswith(b"data: [DONE]\n\n"), i)

    def test_client_disconnect_cancels_upstream(self):
        # The close of this request's own upstream connection, told by its target: not another
        # one the mock saw close meanwhile.
        target = "/v1/chat/completions?disconnect=" + uuid.uuid4().hex
        s = socket.create_connection(("127.0.0.1", self.gw.port), timeout=10)
        s.sendall(b"POST /gateway/mock" + target.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nx-mock: sse;events=100;interval_ms=100\r\n"
                  b"Content-Length: 15\r\n\r\n{\"stream\":true}")
        harness.recv_until(s, b"tok1")
        s.close()
        closed_at = time.time()
        deadline = closed_at + 3
        while time.time() < deadline:
            closed = [c for c in self.mock.closed() if c["target"] == target]
            if closed:
                break
            time.sleep(0.05)
        self.assertTrue(closed, "the mock never saw the stream's connection closed: %r"
                        % self.mock.closed())
        self.assertLess(closed[0]["time"] - closed_at, 1.0)

    # ---- errors classified from libcurl ----
    def test_timeout(self):
        start = time.monotonic()
        status, headers, body = self.gw.request("GET", "/gateway/slow/v1/x", headers={"x-mock": "hang"})
        elapsed = time.monotonic() - start
        self.assert_gateway_error(status, headers, body, 504, "TIMEOUT")
        self.assertGreater(elapsed, 0.9)
        self.assertLess(elapsed, 3.0)

    def test_connection_refused(self):
        status, headers, body = self.gw.request("GET", "/gateway/dead/v1/x")
        self.assert_gateway_error(status, headers, body, 503, "CONNECTION")

    def test_dns_failure(self):
        # The name is asked of the harness's resolver on loopback only (NXDOMAIN), never of
        # this machine's.
        harness.require_private_dns(self, self.gw)
        status, headers, body = self.gw.request("GET", "/gateway/nowhere/v1/x")
        self.assert_gateway_error(status, headers, body, 502, "DNS")
        self.assertIn("llmgw-test.invalid", harness.private_dns_queries())

    def test_reset_is_network_error(self):
        status, headers, body = self.gw.request("GET", "/gateway/slow/v1/x", headers={"x-mock": "reset"})
        self.assert_gateway_error(status, headers, body, 502, "NETWORK")

    def test_gateway_still_serves_after_errors(self):
        self.gw.request("GET", "/gateway/slow/v1/x", headers={"x-mock": "reset"})
        status, _, _ = self.gw.request("GET", "/gateway/mock/v1/x")
        self.assertEqual(status, 200)

    # ---- request ids and logs ----
    def test_request_id_kept_when_valid(self):
        status, headers, data = self.gw.request("GET", "/gateway/mock/v1/x",
                                                headers={"X-Request-Id": "abc.DEF_1:2-3"})
        self.assertEqual(headers["x-request-id"], "abc.DEF_1:2-3")
        self.assertEqual(headers["x-gateway-request-id"], "abc.DEF_1:2-3")
        sent = {k.lower(): v for k, v in json.loads(data)["headers"]}
        self.assertEqual(sent["x-request-id"], "abc.DEF_1:2-3")

    def test_request_id_from_correlation_id_and_invalid_replaced(self):
        _, headers, _ = self.gw.request("GET", "/gateway/mock/v1/x", headers={"X-Correlation-Id": "corr-1"})
        self.assertEqual(headers["x-request-id"], "corr-1")
        _, headers, _ = self.gw.request("GET", "/gateway/mock/v1/x", headers={"X-Request-Id": "bad id!"})
        rid = headers["x-request-id"]
        self.assertEqual(uuid.UUID(rid).version, 4)
        self.assertEqual(str(uuid.UUID(rid)), rid)

    def test_request_id_precedence_request_then_correlation_then_trace(self):
        # The first valid value in the order of the names wins, wherever the fields sit.
        cases = [
            ({"X-Trace-Id": "t-1", "X-Correlation-Id": "c-1", "X-Request-Id": "r-1"}, "r-1"),
            ({"X-Trace-Id": "t-1", "X-Correlation-Id": "c-1", "X-Request-Id": "bad id!"}, "c-1"),
            ({"X-Trace-Id": "t-1", "X-Correlation-Id": "bad id!"}, "t-1"),
        ]
        for sent, want in cases:
            _, headers, _ = self.gw.request("GET", "/gateway/mock/v1/x", headers=sent)
            self.assertEqual(headers["x-request-id"], want, sent)

    def test_upstream_request_id_is_not_overwritten(self):
        _, headers, _ = self.gw.request("GET", "/gateway/mock/v1/x",
                                        headers={"x-mock": "headers;x-request-id=req_upstream123"})
        self.assertEqual(headers["x-request-id"], "req_upstream123")
        self.assertNotEqual(headers["x-gateway-request-id"], "req_upstream123")

    def test_the_upstreams_request_id_is_logged_under_either_name(self):
        # Anthropic names it request-id; before, only x-request-id was logged (found by a
        # trial with the Anthropic SDK: every line said upstream_request_id=-).
        for field in ("x-request-id", "request-id"):
            rid = "upid-" + uuid.uuid4().hex[:8]
            _, headers, _ = self.gw.request("GET", "/gateway/mock/v1/x",
                                            headers={"x-mock": f"headers;{field}=req_{field[0]}1",
                                                     "X-Request-Id": rid})
            self.assertEqual(headers[field], f"req_{field[0]}1")
            harness.wait_log_line(self.gw, re.escape(f"[{rid}] [INFO] request"))
            line = [l for l in self.gw.log().splitlines() if f"[{rid}] [INFO] request" in l][-1]
            self.assertIn(f"upstream_request_id=req_{field[0]}1", line)

    def test_info_log_line_and_no_secrets(self):
        secret = "sk-test-SECRET-" + uuid.uuid4().hex
        rid = "log-test-" + uuid.uuid4().hex[:8]
        self.gw.request("POST", f"/gateway/mock/v1/chat/completions?key={secret}&x=1", body=b"{}",
                        headers={"Authorization": "Bearer " + secret, "x-api-key": secret,
                                 "x-goog-api-key": secret, "api-key": secret,
                                 "Cookie": secret, "X-Request-Id": rid,
                                 "Content-Type": "application/json"})
        harness.wait_log_line(self.gw, re.escape(f"[{rid}] [INFO] request"))
        log = self.gw.log()
        self.assertNotIn(secret, log)
        lines = [l for l in log.splitlines() if rid in l and "[INFO] request" in l]
        self.assertEqual(len(lines), 1, log[-2000:])
        line = lines[0]
        for field in ("method=POST", "service=mock", "lane=edge", "rule=default", "status=200",
                      "bytes_in=2", "bytes_out=", "ttfb_ms=", "duration_ms=", "attempts=1",
                      "fallback=false", "key=***"):
            self.assertIn(field, line)
        self.assertRegex(line, r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[" + rid + r"\] \[INFO\] ")


class JsonLogTest(unittest.TestCase):
    def test_json_log_format(self):
        mock = harness.Mock()
        gw = harness.Gateway(mock.port, args=("--log-format", "json"))
        try:
            gw.request("GET", "/gateway/mock/v1/x", headers={"X-Request-Id": "json-1"})
            deadline = time.monotonic() + 5
            while True:  # the request's line is written after its answer
                # Whole lines only (each ends with its newline): every one is JSON.
                lines = [json.loads(l) for l in gw.log().split("\n")[:-1] if l.strip()]
                reqs = [l for l in lines
                        if l.get("msg") == "request" and l.get("request_id") == "json-1"]
                if reqs or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            self.assertEqual(len(reqs), 1)
            self.assertEqual(reqs[0]["level"], "INFO")
            self.assertEqual(reqs[0]["status"], 200)
            self.assertEqual(reqs[0]["service"], "mock")
        finally:
            gw.stop()
            mock.stop()


class LoopSpreadTest(unittest.TestCase):
    """`--threads 2`: which event loop serves a connection, seen in the loops' epoll sets."""

    def test_threads_0_counts_the_cores_the_process_may_run_on(self):
        # Under taskset or a container's cpuset, the loops are as many as the cores allowed,
        # not the machine's (before: two threads taking turns on one core).
        if len(os.sched_getaffinity(0)) < 2:
            self.skipTest("one core only")
        mock = harness.Mock()
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, {min(before)})  # the gateway inherits it
        try:
            gw = harness.Gateway(mock.port, args=("--threads", "0"))
        finally:
            os.sched_setaffinity(0, before)
        try:
            line = harness.wait_log_line(gw, r"\[INFO\] .*listening")
            self.assertRegex(line, r"threads=1\b")
        finally:
            gw.stop()
            mock.stop()

    def test_a_loop_takes_16_connections_then_the_least_busy_one_the_next(self):
        mock = harness.Mock()
        gw = harness.Gateway(mock.port, args=("--threads", "2"))
        conns = []

        def open_connections(n):
            for _ in range(n):  # one at a time: each finds both loops idle, waiting to accept
                c = gw.conn(timeout=10)
                c.request("GET", "/health")
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 200)
                conns.append(c)

        def wait_for(counts):
            deadline = time.monotonic() + 5
            while harness.client_sockets_per_loop(gw.proc.pid) != counts and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(harness.client_sockets_per_loop(gw.proc.pid), counts)

        try:
            # One loop waits on the listening socket: a new connection wakes one thread.
            self.assertEqual(harness.loops_watching_a_listener(gw.proc.pid), 1)
            # A few clients share one loop, which busy-polls between their requests (from
            # 11-30 19:00; before, two clients went to two loops).
            open_connections(2)
            self.assertEqual(harness.client_sockets_per_loop(gw.proc.pid), [0, 2])
            open_connections(14)
            self.assertEqual(harness.client_sockets_per_loop(gw.proc.pid), [0, 16])
            # The first loop is full: the second takes the next 16, then they alternate.
            open_connections(1)
            self.assertEqual(harness.client_sockets_per_loop(gw.proc.pid), [1, 16])
            open_connections(15)
            self.assertEqual(harness.client_sockets_per_loop(gw.proc.pid), [16, 16])
            open_connections(38)
            self.assertEqual(harness.client_sockets_per_loop(gw.proc.pid), [35, 35])
            # Closing the first 16 (all on the first loop) leaves it 19 to the second's 35:
            # the count each loop keeps follows, so the next 16 all go to the first loop.
            for c in conns[:16]:
                c.close()
            del conns[:16]
            wait_for([19, 35])
            open_connections(16)
            self.assertEqual(harness.client_sockets_per_loop(gw.proc.pid), [35, 35])
        finally:
            for c in conns:
                c.close()
            gw.stop()
            mock.stop()


class BusyPollTest(unittest.TestCase):
    """A loop polls for up to busy_poll_us after it has run something, and only while its work
    comes back sooner than that: otherwise it sleeps at once (src/server/busy_poll.hpp)."""

    def start(self, threads):
        self.mock = harness.Mock()
        self.addCleanup(self.mock.stop)
        self.gw = harness.Gateway(self.mock.port, extra_toml="[gateway]\nbusy_poll_us = 1000\n",
                                  args=("--threads", str(threads)))
        self.addCleanup(self.gw.stop)
        c = self.gw.conn(timeout=10)
        self.addCleanup(c.close)
        return c

    def cpu_seconds_over(self, action):
        ticks0 = harness.proc_cpu_ticks(self.gw.proc.pid)
        action()
        return (harness.proc_cpu_ticks(self.gw.proc.pid) - ticks0) / os.sysconf("SC_CLK_TCK")

    def test_after_back_to_back_requests_an_idle_gateway_sleeps(self):
        c = self.start(threads=2)
        for _ in range(300):  # on one connection, back to back: the loop polls between them
            c.request("POST", "/gateway/mock/v1/chat", body=b"{}", headers={"x-mock": "echo"})
            r = c.getresponse()
            r.read()
            self.assertEqual(r.status, 200)
        # A loop that kept polling would use a whole core (1 s of CPU in this second).
        busy = self.cpu_seconds_over(lambda: time.sleep(1.0))
        self.assertLess(busy, 0.05, "the gateway keeps polling while it is idle")

    def test_events_5ms_apart_are_slept_for_not_polled(self):
        c = self.start(threads=1)

        def stream():
            c.request("POST", "/gateway/mock/v1/chat", body=b"{}",
                      headers={"x-mock": "sse;events=200;interval_ms=5"})
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.read().count(b"data: "), 201)  # 200 events and [DONE]

        # Each event ends a sleep longer than the 1 ms window: a loop that polled 1 ms after
        # each of them would spend 0.2 s here on polling alone.
        busy = self.cpu_seconds_over(stream)
        self.assertLess(busy, 0.1, "the gateway polls between events that come 5 ms apart")


class ShutdownTest(unittest.TestCase):
    def test_sigterm_drains_in_flight_stream_then_exits_0(self):
        mock = harness.Mock()
        gw = harness.Gateway(mock.port)
        try:
            c = gw.conn()
            c.request("POST", "/gateway/mock/v1/chat/completions", body=b'{"stream":true}',
                      headers={"Content-Type": "application/json",
                               "x-mock": "sse;events=8;interval_ms=150"})
            r = c.getresponse()
            first = r.readline()
            self.assertTrue(first.startswith(b"data: "))
            gw.proc.send_signal(signal.SIGTERM)
            rest = r.read()
            self.assertIn(b"data: [DONE]", rest)
            self.assertEqual(gw.proc.wait(timeout=10), 0)
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", gw.port), timeout=2).close()
        finally:
            gw.stop()
            mock.stop()

    def last_answer(self, response):
        """The JSON body of `response`, a 200 that says Connection: close (a drained one)."""
        head, _, body = response.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200 "), response[:300])
        self.assertIn(b"\r\nconnection: close", head.lower())
        return json.loads(body)

    def test_sigterm_serves_a_request_whose_body_is_still_arriving(self):
        # A request begun before the signal is in flight, like one being answered: its body
        # comes after SIGTERM, and it is answered, then closed; the gateway waits for it and
        # exits 0. An idle kept-alive connection closes at once. Before, the drain closed every
        # connection still reading, this one too (no answer at all).
        mock = harness.Mock()
        gw = harness.Gateway(mock.port)
        try:
            idle = gw.conn()
            idle.request("GET", "/gateway/mock/v1/first")
            first = idle.getresponse()
            self.assertEqual(first.status, 200)
            first.read()
            s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
            body = b'{"pad":"' + b"x" * 1000 + b'"}'
            s.sendall(b"POST /gateway/mock/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                      + body[:100])
            harness.wait_read_by_gateway(gw, s)  # the head is read; the body waits for the rest
            gw.proc.send_signal(signal.SIGTERM)
            raw, how = harness.read_to_end(idle.sock, 5)
            self.assertEqual((raw, how), (b"", "eof"))  # the idle one: closed, no answer
            harness.wait_log_line(gw, r"\[INFO\] draining")
            self.assertIsNone(gw.proc.poll(), "the gateway exited with a request in flight")
            s.sendall(body[100:])
            raw, how = harness.read_to_end(s, 10)
            self.assertEqual(how, "eof")
            self.assertEqual(self.last_answer(raw)["body_len"], len(body))
            self.assertEqual(gw.proc.wait(timeout=10), 0)
        finally:
            gw.stop()
            mock.stop()

    def test_sigterm_serves_a_pipelined_request_already_buffered(self):
        # A stream whose head went out (keep-alive) before the signal, and a second request
        # pipelined behind it, already read: both are answered, the second with Connection:
        # close, and the gateway exits 0. Before, the drain closed the connection once the
        # stream ended, and the second request got no answer.
        mock = harness.Mock()
        gw = harness.Gateway(mock.port)
        try:
            s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
            s.sendall(b"POST /gateway/mock/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nx-mock: sse;events=4;interval_ms=150\r\n"
                      b"Content-Length: 15\r\n\r\n{\"stream\":true}"
                      b"GET /gateway/mock/v1/second HTTP/1.1\r\nHost: x\r\n\r\n")
            harness.recv_until(s, b"data: ", 10)  # the stream's head and first event are out
            gw.proc.send_signal(signal.SIGTERM)
            raw, how = harness.read_to_end(s, 10)
            self.assertEqual(how, "eof")
            self.assertIn(b"data: [DONE]", raw)
            self.assertIn(b"HTTP/1.1 ", raw, "the pipelined request got no answer")
            second = raw[raw.index(b"HTTP/1.1 "):]  # the first head was read above
            self.assertEqual(self.last_answer(second)["target"], "/v1/second")
            self.assertEqual(gw.proc.wait(timeout=10), 0)
        finally:
            gw.stop()
            mock.stop()

    def sigterm_with_a_request_hanging(self, drain_timeout_ms):
        """A gateway whose one request waits on an upstream that never answers, sent SIGTERM.
        Returns the client connection too: while it is open the request is in flight."""
        mock = harness.Mock()
        gw = harness.Gateway(mock.port, args=("--drain-timeout", str(drain_timeout_ms)))
        try:
            c = gw.conn()
            c.request("GET", "/gateway/mock/v1/x", headers={"x-mock": "hang"})
            mock.wait_for_requests()  # the request has reached the upstream: it is in flight
            gw.proc.send_signal(signal.SIGTERM)
            self.sigterm_at = time.monotonic()
        except BaseException:
            gw.stop()
            mock.stop()
            raise
        return mock, gw, c

    def test_drain_timeout_with_a_request_in_flight_exits_0_cleanly(self):
        # The drain gives up on a request whose upstream never answers, so the loops stop with
        # that session's handlers still pending. Tearing them down must use nothing already
        # destroyed (sanitizer builds abort on it, which the exit status shows).
        mock, gw, _client = self.sigterm_with_a_request_hanging(300)
        try:
            self.assertEqual(gw.proc.wait(timeout=10), 0)
            self.assertGreater(time.monotonic() - self.sigterm_at, 0.25)  # it waited the drain
            log = gw.log()
            for marker in ("AddressSanitizer", "runtime error", "ThreadSanitizer"):
                self.assertNotIn(marker, log)
            # The request the drain gave up on is logged as cut by the shutdown (before:
            # status=0 error=-).
            self.assertRegex(log, r"\[INFO\] request \| method=\S+ .* error=SHUTDOWN ")
        finally:
            gw.stop()
            mock.stop()

    def test_a_body_still_arriving_at_the_drain_deadline_is_logged_as_cut_by_it(self):
        # Found by a review: logged as a client that left (status 499, error=-).
        mock = harness.Mock()
        gw = harness.Gateway(mock.port, args=("--drain-timeout", "300"))
        try:
            s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
            s.sendall(b"POST /gateway/mock/v1/x HTTP/1.1\r\nHost: x\r\nX-Request-Id: body-cut\r\n"
                      b"Content-Length: 1000\r\n\r\n0123456789")
            time.sleep(0.2)  # the head is read, the body under way
            gw.proc.send_signal(signal.SIGTERM)
            self.assertEqual(gw.proc.wait(timeout=10), 0)
            s.close()
            self.assertRegex(gw.log(), r"\[body-cut\] \[INFO\] request \| method=POST .* "
                                       r"status=0 .* error=SHUTDOWN ")
            self.assertEqual(mock.requests(), [])
        finally:
            gw.stop()
            mock.stop()

    def test_a_refused_request_whose_body_still_arrives_does_not_hold_the_drain(self):
        # The 413 is sent and logged; the connection then only drains what the client still
        # sends (a lingering close). Before, it counted as in flight: SIGTERM waited the whole
        # drain timeout (and logged in_flight=1), as long as the client kept sending (found by
        # a read-only review).
        mock = harness.Mock()
        gw = harness.Gateway(mock.port, args=("--drain-timeout", "8000"),
                             extra_toml="[gateway]\nmax_request_bytes = 1000\n")
        try:
            s = socket.create_connection(("127.0.0.1", gw.port), timeout=10)
            s.sendall(b"POST /gateway/mock/v1/x HTTP/1.1\r\nHost: x\r\nX-Request-Id: linger-1\r\n"
                      b"Content-Length: 900000\r\n\r\n" + b"x" * 100)
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 413 "))
            harness.wait_log_line(gw, r"\[linger-1\] \[INFO\] request \| .* status=413 ")
            start = time.monotonic()
            gw.proc.send_signal(signal.SIGTERM)
            while gw.proc.poll() is None and time.monotonic() - start < 6:
                try:
                    s.sendall(b"x" * 100)  # the client still sends its body
                except OSError:
                    break
                time.sleep(0.1)
            self.assertEqual(gw.proc.wait(timeout=10), 0)
            self.assertLess(time.monotonic() - start, 3)
            self.assertRegex(gw.log(), r"\[INFO\] draining \| signal=15 in_flight=0 ")
            self.assertEqual(len(re.findall(r"\[linger-1\] \[INFO\] request", gw.log())), 1)
            s.close()
        finally:
            gw.stop()
            mock.stop()

    def test_second_signal_exits_at_once(self):
        mock, gw, _client = self.sigterm_with_a_request_hanging(30000)
        try:
            harness.wait_log_line(gw, r"\[INFO\] draining")  # the first signal was taken
            self.assertIsNone(gw.proc.poll())
            start = time.monotonic()
            gw.proc.send_signal(signal.SIGINT)
            gw.proc.wait(timeout=5)
            self.assertLess(time.monotonic() - start, 2)
        finally:
            gw.stop(expect_status=1)  # a second signal exits at once with status 1
            mock.stop()


class StartFailureTest(unittest.TestCase):
    def test_a_thread_that_cannot_start_is_said_and_exits_1(self):
        # ulimit -u, a cgroup's pids limit: the second event-loop thread cannot start. As root
        # no limit binds, so pthread_create is made to fail by a preloaded library. Before the
        # fix of the sixteenth session: an abort (a joinable std::thread destroyed).
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            harness.skip_or_fail(self, "needs a C compiler for the preloaded library")
        workdir = tempfile.mkdtemp(prefix="llmgw-nothreads-")
        self.addCleanup(shutil.rmtree, workdir, True)
        source = os.path.join(workdir, "nothreads.c")
        with open(source, "w") as f:
            f.write("#include <errno.h>\n#include <pthread.h>\n"
                    "int pthread_create(pthread_t *t, const pthread_attr_t *a,\n"
                    "                   void *(*f)(void *), void *arg) {\n"
                    "    (void)t; (void)a; (void)f; (void)arg; return EAGAIN;\n}\n")
        library = os.path.join(workdir, "nothreads.so")
        subprocess.run([cc, "-shared", "-fPIC", "-o", library, source], check=True, timeout=60)
        env = {k: v for k, v in os.environ.items() if k != "LLMGW_CONFIG"}
        env["LD_PRELOAD"] = library
        # A sanitizer runtime wants to come first among the libraries; here it cannot.
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                     "verify_asan_link_order=0"]))
        done = subprocess.run([harness.LLMGW, "serve", "--port", "0", "--threads", "2"],
                              capture_output=True, env=env, timeout=30)
        self.assertEqual(done.returncode, 1, done.stderr[-2000:])
        self.assertIn(b"[ERROR] cannot start an event-loop thread | threads=2 reason=", done.stderr)
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker.encode(), done.stderr)


class ListenTest(unittest.TestCase):
    def test_a_name_with_several_addresses_listens_on_ipv4_first(self):
        # A host name that resolves to ::1 first, then 127.0.0.1 (as "localhost" does where
        # /etc/hosts names both), in a mount namespace with an /etc/hosts of its own. Before,
        # the gateway bound [::1] only, and the documented http://127.0.0.1:8787 was refused.
        if os.geteuid() != 0 or not shutil.which("unshare"):
            harness.skip_or_fail(self, "needs root and unshare(1) for a private /etc/hosts")
        workdir = tempfile.mkdtemp(prefix="llmgw-listen-")
        hosts = os.path.join(workdir, "hosts")
        with open(hosts, "w") as f:
            f.write("::1 llmgw-dual\n127.0.0.1 llmgw-dual\n")
        script = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'
        argv = ["unshare", "-m", "--propagation", "private", "--", "sh", "-c", script, "sh",
                hosts, harness.LLMGW, "serve", "--host", "llmgw-dual", "--port", "0"]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                env={k: v for k, v in os.environ.items() if k != "LLMGW_CONFIG"})
        try:
            line = b""
            deadline = time.monotonic() + 10
            while b"listening" not in line and time.monotonic() < deadline:
                line = proc.stderr.readline()
                if not line:
                    break
            self.assertIn(b"url=http://127.0.0.1:", line)
            port = int(re.search(rb"127\.0\.0\.1:(\d+)", line).group(1))
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200 "))
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=20), 0)
            proc.stderr.close()
        # 127.0.0.1's port taken (another gateway): an error, not [::1] quietly, where clients
        # of http://127.0.0.1 would reach the other process.
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        try:
            argv[argv.index("0")] = str(taken.getsockname()[1])
            done = subprocess.run(argv, capture_output=True, timeout=20,
                                  env={k: v for k, v in os.environ.items() if k != "LLMGW_CONFIG"})
            self.assertEqual(done.returncode, 1, done.stderr)
            self.assertIn(b"Address already in use", done.stderr)
            # The way out, too (before: the reason alone).
            self.assertIn(b"another process listens there; stop it, or choose another port "
                          b"(--port, or port in [gateway])", done.stderr)
        finally:
            taken.close()
            shutil.rmtree(workdir, ignore_errors=True)

    def test_a_privileged_port_without_privileges_says_the_way_out(self):
        # EACCES: as nobody, port 80, in a network namespace of its own (whose
        # ip_unprivileged_port_start is the kernel's default, 1024, whatever the host's).
        if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("setpriv"):
            harness.skip_or_fail(self, "needs root, unshare(1) and setpriv(1) to listen as nobody")
        argv = ["unshare", "-n", "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                harness.LLMGW, "serve", "--port", "80"]
        env = {k: v for k, v in os.environ.items() if k not in ("LLMGW_CONFIG", "XDG_CONFIG_HOME")}
        env["HOME"] = "/nonexistent"  # root's own folder is closed to nobody
        done = subprocess.run(argv, capture_output=True, timeout=20, env=env)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn(b"cannot listen", done.stderr)
        self.assertIn(b"Permission denied: not allowed to listen there (ports below 1024 need "
                      b"privileges); choose another port (--port, or port in [gateway])",
                      done.stderr)


if __name__ == "__main__":
    unittest.main()
