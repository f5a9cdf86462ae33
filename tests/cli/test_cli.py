#!/usr/bin/env python3
"""CLI tests: run the built llmgw binary the way a user does and check what it prints.

Usage: test_cli.py --binary build/llmgw [unittest arguments]

Every run gets a clean configuration environment (XDG_CONFIG_HOME and HOME in a temporary
directory, no LLMGW_CONFIG, none of the gateway's environment variables and no proxy
variables), so a developer's own config never changes the results.
"""

import argparse
import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
import tempfile
import unittest

BINARY = None
SERVICE_COUNT = 23
MIB = 1 << 20
GATEWAY_ENV = ("LLMGW_CONFIG", "ALLOWED_ORIGIN", "DEFAULT_TIMEOUT", "BACKGROUND_TIMEOUT",
               "MAX_RESPONSE_SIZE", "ENABLE_RETRY", "ENABLE_FALLBACK", "LOG_LEVEL",
               "PROXY_CONFIG", "NO_COLOR",
               # libcurl's: a proxy of the machine's would carry (or refuse) a call
               "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
               "no_proxy", "NO_PROXY")


class CliTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="llmgw-cli-")
        self.tmp = self._tmp.name
        self.env = {k: v for k, v in os.environ.items() if k not in GATEWAY_ENV}
        self.env["XDG_CONFIG_HOME"] = os.path.join(self.tmp, "xdg")
        self.env["HOME"] = os.path.join(self.tmp, "home")

    def tearDown(self):
        self._tmp.cleanup()

    def run_llmgw(self, *args, env=None, stdin=b"", expect=None):
        run_env = dict(self.env)
        run_env.update(env or {})
        proc = subprocess.run([BINARY, *args], input=stdin, capture_output=True,
                              env=run_env, timeout=60)
        out = proc.stdout.decode("utf-8", "replace")
        err = proc.stderr.decode("utf-8", "replace")
        if expect is not None:
            self.assertEqual(proc.returncode, expect,
                             f"llmgw {' '.join(args)}\nstdout:\n{out}\nstderr:\n{err}")
        return proc.returncode, out, err

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        return path

    def route(self, *args, **kwargs):
        """Runs `llmgw route ARGS` expecting success; returns its key: value lines as a dict."""
        _, out, _ = self.run_llmgw("route", *args, expect=0, **kwargs)
        lines = {}
        for line in out.splitlines():
            key, sep, value = line.partition(":")
            self.assertTrue(sep, f"not a 'key: value' line: {line!r}")
            lines[key] = value.strip()
        return lines

    def services_rows(self, *args, **kwargs):
        """Runs `llmgw services ARGS`; returns (header, {name: row dict})."""
        _, out, _ = self.run_llmgw("services", *args, expect=0, **kwargs)
        lines = out.splitlines()
        header = lines[0]
        starts = [m.start() for m in re.finditer(r"(?<!\S)\S+(?: \S+)*", header)]
        names = header.split("  ")
        names = [n.strip() for n in names if n.strip()]
        self.assertEqual(len(starts), len(names), header)
        rows = {}
        for line in lines[1:]:
            cells = [line[a:b].strip() for a, b in zip(starts, starts[1:] + [None])]
            rows[cells[0]] = dict(zip(names, cells))
        return header, rows


class TestGeneral(CliTestCase):
    def test_output_that_cannot_be_written_is_an_error(self):
        # /dev/full takes nothing: the table, the decision, the help were lost, and the exit
        # status said 0.
        for args in (["services"], ["services", "--json"], ["route", "/gateway/openai/v1/x"],
                     ["--help"], ["--version"], ["call", "--help"]):
            with open("/dev/full", "wb") as full:
                p = subprocess.run([BINARY, *args], stdout=full, stderr=subprocess.PIPE,
                                   env=self.env, timeout=30)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("llmgw: cannot write to standard output: No space left on device",
                          p.stderr.decode(), args)
        # A closed stdout (`>&-`) says why too (before: no reason, the failed write's errno
        # gone by the final flush).
        for args in (["services"], ["--version"]):
            p = subprocess.run([BINARY, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=self.env, timeout=30, preexec_fn=lambda: os.close(1))
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("llmgw: cannot write to standard output: Bad file descriptor",
                          p.stderr.decode(), args)

    def test_unknown_command_is_named_as_one(self):
        # Was "The following argument was not expected: serv".
        _, out, err = self.run_llmgw("serv", expect=2)
        self.assertEqual(out, "")
        self.assertIn("unknown command 'serv'; the commands are serve, services, route, call", err)

    def test_version(self):
        _, out, err = self.run_llmgw("--version", expect=0)
        self.assertEqual(out, "llmgw 0.1.0\n")
        self.assertEqual(err, "")

    def test_allocator_is_mimalloc_unless_sanitized(self):
        # The build links mimalloc unless it is a sanitizer build (CMake tells us which). Its
        # verbose mode proves it is the allocator the process actually runs on.
        expect = os.environ.get("LLMGW_EXPECT_MIMALLOC", "0") == "1"
        env = dict(self.env, MIMALLOC_VERBOSE="1")
        proc = subprocess.run([BINARY, "--version"], capture_output=True, text=True,
                              env=env, timeout=30)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(proc.stdout, "llmgw 0.1.0\n")
        self.assertEqual("mimalloc: process init" in proc.stderr, expect, proc.stderr[:400])

    def test_help_lists_subcommands_and_examples(self):
        _, out, _ = self.run_llmgw("--help", expect=0)
        self.assertRegex(out, r"(?m)^\s+services\s+\S")
        self.assertRegex(out, r"(?m)^\s+route\s+\S")
        self.assertIn("Examples:", out)
        self.assertIn("llmgw route POST", out)

    def test_subcommand_help_has_description_and_examples(self):
        for sub, flag in (("services", "--json"), ("route", "--data")):
            with self.subTest(sub=sub):
                _, out, _ = self.run_llmgw(sub, "--help", expect=0)
                self.assertIn(flag, out)
                self.assertIn("--config", out)
                self.assertIn("Examples:", out)
                self.assertIn(f"llmgw {sub}", out)

    def test_no_subcommand_prints_help_to_stderr(self):
        _, out, err = self.run_llmgw(expect=2)
        self.assertEqual(out, "")
        self.assertIn("services", err)
        self.assertIn("route", err)

    def test_usage_errors_exit_2(self):
        for args in (["services", "--bogus"], ["frobnicate"], ["route"],
                     ["route", "GET", "/gateway/openai/v1/models", "extra"],
                     ["route", "http://"], ["route", "HTTP://?x"]):
            with self.subTest(args=args):
                _, out, err = self.run_llmgw(*args, expect=2)
                self.assertEqual(out, "")
                self.assertTrue(err.startswith("llmgw: "), err)
        # More words than [METHOD] PATH: all but the last two were dropped without a word
        # (`route GET POST PATH` explained a POST).
        for args in (["GET", "POST", "/gateway/openai/v1/models"],
                     ["a", "b", "c", "d", "/gateway/openai/v1/models"]):
            with self.subTest(args=args):
                _, out, err = self.run_llmgw("route", *args, expect=2)
                self.assertEqual((out, err), ("", f"llmgw: expected [METHOD] PATH, not {len(args)} "
                                                  "arguments\n"))

    def dead_local_call_args(self):
        """--config and --via arguments that send `llmgw call openai ...` to a port of 127.0.0.1
        where nothing listens, through the gateway named or, were --via ignored, directly
        (the config points openai there): a call that gets past its arguments is refused at
        once (status 3), and nothing leaves the machine."""
        dead = socket.socket()  # bound, never listening, held for the test: connections refused
        dead.bind(("127.0.0.1", 0))
        self.addCleanup(dead.close)
        url = f"http://127.0.0.1:{dead.getsockname()[1]}"
        config = self.write("dead.toml", f'[services.openai]\nbase_url = "{url}"\n')
        return ("--config", config, "--via", url)

    def test_usage_errors_say_what_was_meant(self):
        # Before, CLI11's words: "Could not convert: --port = 99999", "--data: At Most 1
        # required but received 2", "The following arguments were not expected: 9000 --prot",
        # "The following argument was not expected: /v1/models".
        via = self.dead_local_call_args()
        for args, want in (
                (["serve", "--port", "99999"], "--port: '99999' is out of range (0 to 65535)"),
                (["serve", "--prot", "9000"], "unknown option '--prot'; did you mean '--port'?"),
                (["serve", "--log-levle=debug"],
                 "unknown option '--log-levle'; did you mean '--log-level'?"),
                (["serve", "--frobnicate"], "unknown option '--frobnicate'\n"),
                (["call", *via, "openai", "/v1/x", "-d", "a", "-d", "b"],
                 "-d/--data may be given once (curl would join several with '&', which no JSON "
                 "body wants)"),
                (["call", *via, "POST", "openai", "/v1/models"],
                 "the method goes in -X: llmgw call -X POST SERVICE PATH"),
                (["route", "openai", "/gateway/openai/v1/models"],
                 "'openai' is a service, not an HTTP method: the path names the service "
                 "(llmgw route [METHOD] /gateway/openai/v1/models)"),
                # call's form. Before: the method "openai" and "Not a gateway path".
                (["route", "OpenAI", "/v1/chat/completions?x=1"],
                 "'OpenAI' is a service, not an HTTP method: the path names the service "
                 "(llmgw route [METHOD] /gateway/openai/v1/chat/completions?x=1)"),
                (["route", "-X", "POST", "GET", "/gateway/openai/v1/models"],
                 "the method is given twice: as -X POST and as 'GET'"),
                # curl's options that call does not take, and what it does instead.
                (["call", *via, "-sSf", "openai", "/v1/models"],
                 "'-f' is curl's; call exits 1 on an HTTP error (400 or above) already"),
                (["call", *via, "--fail", "openai", "/v1/models"], "'--fail' is curl's; "),
                (["call", *via, "-fsSL", "openai", "/v1/models"], "'-f' is curl's; "),
                (["call", *via, "-sSLv", "openai", "/v1/models"], "'-L' is curl's; "),
                (["call", *via, "-L", "openai", "/v1/models"],
                 "'-L' is curl's; call follows no redirect"),
                (["call", *via, "-o", "out.json", "openai", "/v1/models"],
                 "'-o' is curl's; the answer goes to standard output"),
                (["call", *via, "-v", "openai", "/v1/models"],
                 "'-v' is curl's; -i prints the status line and the headers"),
                (["call", *via, "--data-raw", "{}", "--data-raw", "{}", "openai", "/v1/models"],
                 "--data-raw may be given once (curl would join several with '&', which no "
                 "JSON body wants): put the whole body in one --data-raw"),
                (["call", *via, "-d", "{}", "--data-raw", "{}", "openai", "/v1/models"],
                 "give the body once: -d/--data/--data-binary or --data-raw, not both")):
            with self.subTest(args=args):
                _, out, err = self.run_llmgw(*args, expect=2)
                self.assertEqual(out, "")
                self.assertIn("llmgw: " + want, err)
        # The edge of the range is a port.
        _, _, err = self.run_llmgw("serve", "--port", "65536", expect=2)
        self.assertIn("out of range", err)

    def test_whole_numbers_are_read_in_decimal(self):
        # Left to itself CLI11 reads "0100000000" as octal (16,777,216: within --timeout's
        # range; 100,000,000 is not) and "0x1f90" as hex, with no error.
        via = self.dead_local_call_args()
        _, _, err = self.run_llmgw("call", "--timeout", "0100000000", *via, "openai",
                                   "/v1/models", expect=2)
        self.assertIn("100000000", err)
        for args in (["serve", "--port", "0x1f90"], ["serve", "--threads", "+2"],
                     ["serve", "--drain-timeout", "1e3"],
                     ["call", "--retries", "-1", *via, "openai", "/v"]):
            with self.subTest(args=args):
                _, out, err = self.run_llmgw(*args, expect=2)
                self.assertEqual(out, "")
                self.assertIn("is not a whole number in decimal digits", err)
        # Accepted (700 ms): the call is made, and refused by the dead local port.
        _, _, err = self.run_llmgw("call", "--timeout", "0700", *via, "openai", "/v1/models",
                                   expect=3)
        self.assertIn('"CONNECTION"', err)

    def test_an_empty_config_name_is_an_error_not_no_flag(self):
        # "--config=" too, which CLI11 alone answers by taking the next argument as the file.
        for args in (["services", "--config", ""], ["services", "--config=", "--json"],
                     ["route", "--config=", "openai", "/v1/models"]):
            with self.subTest(args=args):
                _, out, err = self.run_llmgw(*args, expect=2)
                self.assertEqual(out, "")
                self.assertIn("needs a file name, not an empty string", err)


class TestServices(CliTestCase):
    def test_table_has_every_builtin_service(self):
        header, rows = self.services_rows()
        self.assertEqual(header.split(), ["NAME", "ALIASES", "BASE", "URL", "TIMEOUT", "RETRIES",
                                          "STREAMING", "FALLBACK", "SOURCE"])
        self.assertEqual(len(rows), SERVICE_COUNT, sorted(rows))
        self.assertEqual(rows["openai"]["BASE URL"], "https://api.openai.com")
        self.assertEqual(rows["openai"]["TIMEOUT"], "120000ms")
        self.assertIn("claude", rows["anthropic"]["ALIASES"].split(","))
        self.assertEqual(rows["ollama"]["BASE URL"], "http://127.0.0.1:11434")
        for name, row in rows.items():
            self.assertEqual(row["SOURCE"], "built-in", name)

    def test_json_has_every_service(self):
        _, out, _ = self.run_llmgw("services", "--json", expect=0)
        services = json.loads(out)
        self.assertEqual(len(services), SERVICE_COUNT)
        by_name = {s["name"]: s for s in services}
        openai = by_name["openai"]
        self.assertEqual(openai["base_url"], "https://api.openai.com")
        self.assertEqual(openai["timeout_ms"], 120000)
        self.assertEqual(openai["max_response_bytes"], 10485760)
        self.assertEqual(openai["source"], "built-in")
        for key in ("aliases", "max_retries", "retry_methods", "streaming", "fallback",
                    "headers", "description"):
            self.assertIn(key, openai)
        anthropic = by_name["anthropic"]
        self.assertIn("claude", anthropic["aliases"])
        self.assertEqual(anthropic["headers"].get("anthropic-version"), "2023-06-01")

    def test_json_hides_keys_in_default_headers_and_says_where_the_key_comes_from(self):
        # A key in a default header was printed in clear unless its name was one of six.
        path = self.write("keys.toml", '''
[services.portkey]
headers = { "x-portkey-api-key" = "pk-live-SECRET", "x-portkey-provider" = "openai" }
[services.own]
base_url = "http://127.0.0.1:9"
api_key_header = "X-Own"
headers = { "X-Own" = "own-SECRET", "X-Auth-Token" = "tok-SECRET", "X_Client_Secret" = "s-SECRET" }
''')
        _, out, _ = self.run_llmgw("services", "--json", "--config", path, expect=0)
        self.assertNotIn("SECRET", out)
        by_name = {s["name"]: s for s in json.loads(out)}
        self.assertEqual(by_name["portkey"]["headers"],
                         {"x-portkey-api-key": "***", "x-portkey-provider": "openai"})
        self.assertEqual(set(by_name["own"]["headers"].values()), {"***"})
        self.assertEqual((by_name["openai"]["api_key_env"], by_name["openai"]["api_key_header"],
                          by_name["openai"]["api_key_prefix"]),
                         ("OPENAI_API_KEY", "Authorization", "Bearer "))

    def test_override_file_changes_a_field_and_shows_its_source(self):
        path = self.write("override.toml", """
[services.openai]
timeout_ms = 5000

[services.mymock]
base_url = "http://127.0.0.1:9999/v1"
""")
        _, rows = self.services_rows("--config", path)
        self.assertEqual(rows["openai"]["TIMEOUT"], "5000ms")
        self.assertIn(path, rows["openai"]["SOURCE"])
        self.assertEqual(rows["mymock"]["BASE URL"], "http://127.0.0.1:9999/v1")
        self.assertEqual(rows["anthropic"]["SOURCE"], "built-in")
        self.assertEqual(len(rows), SERVICE_COUNT + 1)
        _, out, _ = self.run_llmgw("services", "--json", "--config", path, expect=0)
        openai = {s["name"]: s for s in json.loads(out)}["openai"]
        self.assertEqual(openai["timeout_ms"], 5000)
        self.assertIn(path, openai["source"])

    def test_disabled_service_is_removed(self):
        path = self.write("off.toml", "[services.groq]\nenabled = false\n")
        _, rows = self.services_rows("--config", path)
        self.assertNotIn("groq", rows)
        self.assertEqual(len(rows), SERVICE_COUNT - 1)

    def test_proxy_config_for_a_disabled_service_is_an_error(self):
        # Its settings would go with the service, and /gateway/groq get a 404 nobody explains.
        path = self.write("off.toml", "[services.groq]\nenabled = false\n")
        _, out, err = self.run_llmgw("services", "--config", path, expect=2,
                                     env={"PROXY_CONFIG": '{"groq":{"timeout":1000}}'})
        self.assertEqual(out, "")
        self.assertIn("PROXY_CONFIG: service 'groq': is disabled (enabled = false, from "
                      "built-in + " + path + ")", err)

    def test_override_file_locations_and_precedence(self):
        xdg = self.write("xdg/llmgw/config.toml", "[services.openai]\ntimeout_ms = 1111\n")
        env_file = self.write("env.toml", "[services.openai]\ntimeout_ms = 2222\n")
        flag_file = self.write("flag.toml", "[services.openai]\ntimeout_ms = 3333\n")
        _, rows = self.services_rows()
        self.assertEqual(rows["openai"]["TIMEOUT"], "1111ms")
        self.assertIn(xdg, rows["openai"]["SOURCE"])
        _, rows = self.services_rows(env={"LLMGW_CONFIG": env_file})
        self.assertEqual(rows["openai"]["TIMEOUT"], "2222ms")
        _, rows = self.services_rows("--config", flag_file, env={"LLMGW_CONFIG": env_file})
        self.assertEqual(rows["openai"]["TIMEOUT"], "3333ms")

    def test_bad_config_file_reports_file_line_column(self):
        cases = {
            "typo.toml": "[services.openai]\ntimout_ms = 5000\n",
            "syntax.toml": "[services.openai]\ntimeout_ms = = 5\n",
            "type.toml": "[services.openai]\ntimeout_ms = \"soon\"\n",
            "url.toml": "[services.openai]\nbase_url = \"ftp://example.com\"\n",
        }
        for name, text in cases.items():
            with self.subTest(file=name):
                path = self.write(name, text)
                _, out, err = self.run_llmgw("services", "--config", path, expect=2)
                self.assertEqual(out, "")
                self.assertRegex(err, r"^llmgw: " + re.escape(path) + r":2:\d+: \S")

    def test_a_key_of_very_many_parts_is_an_error_not_a_crash(self):
        # toml++ walks (and frees) the table a dotted key makes by recursion: 3,000,000 parts
        # overflowed the stack (exit 139).
        path = self.write("deep.toml", "a" + ".a" * 3000000 + " = 1\n")
        _, out, err = self.run_llmgw("services", "--config", path, expect=2)
        self.assertEqual(out, "")
        self.assertIn(path + ":1:128: a key of more than 64 dotted parts", err)

    def test_missing_config_file_is_an_error(self):
        missing = os.path.join(self.tmp, "nope.toml")
        _, _, err = self.run_llmgw("services", "--config", missing, expect=2)
        self.assertIn(missing, err)

    def test_bad_environment_names_the_variable(self):
        for name, value in (("DEFAULT_TIMEOUT", "abc"), ("ENABLE_RETRY", "maybe"),
                            ("PROXY_CONFIG", "{not json")):
            with self.subTest(var=name):
                _, out, err = self.run_llmgw("services", env={name: value}, expect=2)
                self.assertEqual(out, "")
                self.assertTrue(err.startswith("llmgw: "), err)
                self.assertIn(name, err)

    def test_an_unknown_upstream_client_is_a_configuration_error(self):
        # It fell back to the native client silently ("CURL", "libcurl", typos).
        config = self.write("local.toml", b'[services.local]\nbase_url = "http://127.0.0.1:9"\n')
        for args in (("call", "local", "/v1/models"), ("serve", "--port", "0")):
            with self.subTest(command=args[0]):
                _, out, err = self.run_llmgw(*args, "--config", config,
                                             env={"LLMGW_UPSTREAM_CLIENT": "CURL"}, expect=2)
                self.assertEqual(out, "")
                self.assertIn("llmgw: LLMGW_UPSTREAM_CLIENT='CURL': not native or curl", err)


class TestRoute(CliTestCase):
    def assert_lane(self, lines, lane, rule):
        self.assertEqual((lines["lane"], lines["rule"]), (lane, rule), lines)

    def test_get_is_edge_by_method(self):
        lines = self.route("/gateway/openai/v1/models")
        self.assert_lane(lines, "edge", "method")
        self.assertEqual(lines["request"], "GET /gateway/openai/v1/models")
        self.assertEqual(lines["reason"], "Method suitable for edge")
        self.assertEqual(lines["service"], "openai")
        self.assertEqual(lines["upstream url"], "https://api.openai.com/v1/models")
        self.assertEqual(lines["headers timeout"], "120000ms")
        self.assertEqual(lines["total timeout"], "none")
        self.assertTrue(lines["max response bytes"].startswith("10485760"), lines)
        for key in ("idle timeout", "retries", "fallback"):
            self.assertIn(key, lines)

    def test_long_running_api_is_background(self):
        lines = self.route("POST", "/gateway/openai/v1/embeddings")
        self.assert_lane(lines, "background", "long")
        self.assertIn("/v1/embeddings", lines["reason"])
        self.assertEqual(lines["total timeout"], "240000ms")
        self.assertTrue(lines["fallback"].startswith("yes"), lines)

    def test_retries_and_fallback_follow_the_settings(self):
        lines = self.route("/gateway/openai/v1/models")
        self.assertEqual(lines["retries"], "up to 1 retry (methods GET, HEAD, OPTIONS, POST)")
        self.assertTrue(lines["fallback"].startswith("no"), lines)
        lines = self.route("PATCH", "/gateway/openai/v1/x")
        self.assertIn("PATCH is not in retry_methods", lines["retries"])
        lines = self.route("POST", "/gateway/openai/v1/embeddings",
                           env={"ENABLE_RETRY": "false", "ENABLE_FALLBACK": "off"})
        self.assertEqual(lines["retries"], "none (ENABLE_RETRY is off)")
        self.assertEqual(lines["fallback"], "no (ENABLE_FALLBACK is off)")
        # Turned off by the user file: named as such (before: "ENABLE_RETRY is off", unset).
        path = self.write("off.toml", "[gateway]\nenable_retry = false\nenable_fallback = false\n")
        lines = self.route("POST", "/gateway/openai/v1/embeddings", "--config", path)
        self.assertEqual(lines["retries"], "none (enable_retry = false in the user file)")
        self.assertEqual(lines["fallback"], "no (enable_fallback = false in the user file)")
        path = self.write("nofb.toml", "[services.openai]\nfallback = false\nmax_retries = 3\n")
        lines = self.route("POST", "/gateway/openai/v1/embeddings", "--config", path)
        self.assertEqual(lines["fallback"], "no (fallback = false for openai)")
        self.assertTrue(lines["retries"].startswith("up to 3 retries"), lines)

    def test_json_stream_body_is_edge_and_implies_post(self):
        lines = self.route("/gateway/openai/v1/chat/completions", "-d", '{"stream":true}')
        self.assert_lane(lines, "edge", "stream")
        self.assertTrue(lines["request"].startswith("POST "), lines)
        self.assertEqual(lines["body"], "15 bytes")

    def test_stream_as_string_is_not_streaming(self):
        lines = self.route("/gateway/openai/v1/chat/completions", "-d", '{"stream":"true"}')
        self.assert_lane(lines, "edge", "default")

    def test_accept_header_is_a_stream_signal(self):
        lines = self.route("POST", "/gateway/claude/v1/messages", "-H", "Accept: text/event-stream")
        self.assert_lane(lines, "edge", "stream")
        self.assertEqual(lines["service"], "anthropic (alias claude)")
        self.assertEqual(lines["upstream url"], "https://api.anthropic.com/v1/messages")
        # 'Accept:' after it removes only a header of llmgw's own: curl sends the Accept -H
        # gave, and serve would see it (before, route dropped it: rule "default").
        lines = self.route("POST", "/gateway/claude/v1/messages", "-H", "Accept: text/event-stream",
                           "-H", "Accept:")
        self.assert_lane(lines, "edge", "stream")

    def test_large_body_threshold(self):
        big = self.write("big.bin", b"x" * (MIB + 1))
        exact = self.write("exact.bin", b"x" * MIB)
        lines = self.route("/gateway/openai/v1/chat/completions", "-d", "@" + big)
        self.assert_lane(lines, "background", "large")
        self.assertEqual(lines["body"], f"{MIB + 1} bytes")
        lines = self.route("/gateway/openai/v1/chat/completions", "-d", "@" + exact)
        self.assert_lane(lines, "edge", "default")

    def test_content_length_header_stands_for_the_body(self):
        lines = self.route("POST", "/gateway/openai/v1/chat/completions",
                           "-H", f"Content-Length: {3 * MIB // 2}")
        self.assert_lane(lines, "background", "large")
        self.assertEqual(lines["reason"], "Large request body: 1.50MB")

    def test_a_chunked_body_is_counted_as_serve_counts_it(self):
        # serve reads a chunked body whole before it decides: its size decides, and is shown.
        # Before, the decision said "Large request body" while no body line was printed.
        lines = self.route("POST", "/gateway/openai/v1/chat/completions", "-H",
                           "Transfer-Encoding: chunked", "-d", "@-", stdin=b"x" * (2 * MIB))
        self.assert_lane(lines, "background", "large")
        self.assertEqual(lines["body"], f"{2 * MIB} bytes")
        _, out, _ = self.run_llmgw("route", "--json", "POST", "/gateway/openai/v1/x", "-H",
                                   "Transfer-Encoding: chunked", "-d", "@-",
                                   stdin=b"x" * (2 * MIB), expect=0)
        self.assertEqual(json.loads(out)["body_bytes"], 2 * MIB)

    def test_a_body_over_max_request_bytes_is_read_no_further_than_past_the_limit(self):
        # serve answers 413 to it whatever follows. Before, -d @/dev/zero read without end.
        for framing in ([], ["-H", "Transfer-Encoding: chunked"]):
            with self.subTest(framing=framing):
                _, out, _ = self.run_llmgw("route", "--json", "POST", "/gateway/openai/v1/x",
                                           *framing, "-d", "@/dev/zero", expect=0)
                said = json.loads(out)
                self.assertEqual((said["status"], said["reason"]),
                                 (413, "SIZE_LIMIT: request body exceeds the limit of "
                                       "33554432 bytes"))
        # The user file's limit, from a file or stdin: 1000 bytes are routed, 1001 answered 413.
        config = self.write("limit.toml", "[gateway]\nmax_request_bytes = 1000\n")
        exact = self.write("exact.bin", b"x" * 1000)
        for args, stdin in ((["-d", "@" + exact], b""), (["-d", "@-"], b"x" * 1001)):
            with self.subTest(args=args):
                _, out, _ = self.run_llmgw("route", "--json", "--config", config, "POST",
                                           "/gateway/openai/v1/x", *args, stdin=stdin, expect=0)
                said = json.loads(out)
                if stdin:
                    self.assertEqual(said["status"], 413, said)
                else:
                    self.assertEqual((said["body_bytes"], said["lane"]), (1000, "edge"), said)

    def test_a_head_over_16k_is_414_for_its_request_line_and_431_for_its_fields(self):
        # As serve answers: a request line that does not end within the 16 KiB head limit has a
        # target too long (RFC 9110 §15.5.15). Before: 431 for both.
        for args, status, reason in (
                (["/gateway/openai/v1/" + "a" * 17000], 414,
                 "request target too long: the request line does not end within 16 KiB"),
                (["/gateway/openai/v1/x", "-H", "X-Big: " + "b" * 17000], 431,
                 "request headers exceed 16 KiB")):
            with self.subTest(status=status):
                _, out, _ = self.run_llmgw("route", "--json", *args, expect=0)
                said = json.loads(out)
                self.assertEqual((said["status"], said["reason"]),
                                 (status, "BAD_REQUEST: " + reason))

    def test_body_from_stdin(self):
        lines = self.route("/gateway/openai/v1/chat/completions", "-d", "@-",
                           stdin=b'{"model": "x", "stream": true}')
        self.assert_lane(lines, "edge", "stream")

    def test_full_url_keeps_path_and_query_byte_for_byte(self):
        lines = self.route("http://127.0.0.1:8787/gateway/openai/v1/chat/completions?a=%2F&b=%7e#frag")
        self.assertEqual(lines["request"], "GET /gateway/openai/v1/chat/completions?a=%2F&b=%7e")
        self.assertEqual(lines["upstream url"],
                         "https://api.openai.com/v1/chat/completions?a=%2F&b=%7e")

    def test_base_path_and_gemini_stream(self):
        lines = self.route("POST", "/gateway/groq/v1/chat/completions")
        self.assertTrue(lines["upstream url"].startswith("https://api.groq.com/openai/v1/"), lines)
        lines = self.route("POST", "/gateway/gemini/v1beta/models/m:streamGenerateContent")
        self.assert_lane(lines, "edge", "stream")

    def test_json_output(self):
        _, out, _ = self.run_llmgw("route", "--json", "POST", "/gateway/claude/v1/messages",
                                   "-d", '{"stream": true}', expect=0)
        d = json.loads(out)
        self.assertEqual((d["lane"], d["rule"]), ("edge", "stream"))
        self.assertEqual((d["service"], d["alias"]), ("anthropic", "claude"))
        self.assertEqual(d["upstream_url"], "https://api.anthropic.com/v1/messages")
        self.assertEqual(d["body_bytes"], 16)
        self.assertIsNone(d["total_timeout_ms"])
        for key in ("reason", "headers_timeout_ms", "idle_timeout_ms", "retry_enabled",
                    "max_retries", "retry_methods", "fallback_eligible", "max_response_bytes"):
            self.assertIn(key, d)

    def test_override_file_applies_to_route(self):
        path = self.write("o.toml", '[services.mock]\nbase_url = "http://127.0.0.1:9/base"\n'
                                    'timeout_ms = 777\n')
        lines = self.route("/gateway/mock/v1/x", "--config", path)
        self.assertEqual(lines["upstream url"], "http://127.0.0.1:9/base/v1/x")
        self.assertEqual(lines["headers timeout"], "777ms")

    def test_route_shows_query_credentials_as_serve_logs_them(self):
        # Before, the key was printed back in `request:` and `upstream url:` (a CI log keeps
        # them), where serve's log shows ***.
        target = "/gateway/gemini/v1beta/models/m:generateContent?key=SECRET1&alt=sse&sig=SECRET2"
        lines = self.route(target)
        self.assertEqual(lines["request"],
                         "GET /gateway/gemini/v1beta/models/m:generateContent?key=***&alt=sse&sig=***")
        self.assertTrue(lines["upstream url"].endswith("?key=***&alt=sse&sig=***"), lines)
        _, out, _ = self.run_llmgw("route", "--json", target, expect=0)
        self.assertNotIn("SECRET", out)
        doc = json.loads(out)
        self.assertTrue(doc["target"].endswith("?key=***&alt=sse&sig=***"), doc)

    def test_method_by_x_as_call_takes_it(self):
        # As `call` and curl; before: "The following argument was not expected: -X".
        lines = self.route("-X", "post", "/gateway/openai/v1/chat/completions")
        self.assertEqual(lines["request"], "POST /gateway/openai/v1/chat/completions")
        # A method that merely is no common one still routes (serve forwards any token).
        self.assertEqual(self.route("PROPFIND", "/gateway/openai/v1/x")["request"],
                         "PROPFIND /gateway/openai/v1/x")
        # A method named like some other service is a method (a review found SEARCH refused
        # for a table with a service "search"); named like the path's service it is a slip.
        path = self.write("search.toml", '[services.search]\nbase_url = "http://127.0.0.1:9"\n')
        self.assertEqual(self.route("SEARCH", "/gateway/openai/v1/x", "--config", path)["request"],
                         "SEARCH /gateway/openai/v1/x")
        _, _, err = self.run_llmgw("route", "search", "/gateway/search/v1/x", "--config", path,
                                   expect=2)
        self.assertIn("'search' is a service, not an HTTP method", err)
        # Before a path that is no gateway path, a word that reads as a method is one (a review
        # found SEARCH and POST taken for services named so).
        both = self.write("post.toml", '[services.search]\nbase_url = "http://127.0.0.1:9"\n'
                                       '[services.post]\nbase_url = "http://127.0.0.1:9"\n')
        for method in ("SEARCH", "POST", "post"):
            with self.subTest(method=method):
                _, _, err = self.run_llmgw("route", method, "/v1/x", "--config", both, expect=2)
                self.assertIn("llmgw: Not a gateway path", err)

    def test_disabled_service_is_named_as_such(self):
        path = self.write("off.toml", "[services.groq]\nenabled = false\n")
        for args in (["route", "/gateway/groq/v1/models", "--config", path],
                     ["call", "groq", "/v1/models", "--config", path]):
            with self.subTest(args=args):
                _, out, err = self.run_llmgw(*args, expect=2)
                self.assertEqual(out, "")
                # Before: "Unknown service 'groq'."
                self.assertIn("llmgw: Service 'groq' is disabled (enabled = false, from built-in + "
                              + path + ").", err)
                self.assertIn("Available services:", err)

    def test_unknown_service_lists_services(self):
        _, out, err = self.run_llmgw("route", "/gateway/nosuch/v1/models", expect=2)
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("llmgw: "), err)
        self.assertIn("nosuch", err)
        self.assertEqual(err.count("Available services:"), 1, err)
        listed = re.search(r"(?m)^Available services: (.*)$", err).group(1).split(", ")
        self.assertEqual(len(listed), SERVICE_COUNT, listed)
        for name in ("openai", "anthropic", "ollama"):
            self.assertIn(name, listed)

    def test_invalid_paths_exit_2(self):
        for path in ("/gateway/openai/../v1/models", "/gateway/openai/%2e%2e/x",
                     "/gateway/openai//v1", "/gatewayfoo/v1", "/gateway/openai",
                     "gateway/openai/v1/models"):
            with self.subTest(path=path):
                _, out, err = self.run_llmgw("route", path, expect=2)
                self.assertEqual(out, "")
                self.assertTrue(err.startswith("llmgw: "), err)

    def test_dot_dot_names_the_problem_and_lists_services(self):
        _, _, err = self.run_llmgw("route", "/gateway/openai/../v1/models", expect=2)
        self.assertIn("..", err)
        self.assertIn("Available services:", err)

    def test_header_without_colon_is_a_usage_error(self):
        _, out, err = self.run_llmgw("route", "/gateway/openai/v1/models", "-H", "NoColon",
                                     expect=2)
        self.assertEqual(out, "")
        self.assertIn("colon", err)

    def test_header_option_does_not_swallow_the_path(self):
        lines = self.route("-H", "Accept: text/event-stream", "POST", "/gateway/openai/v1/x")
        self.assert_lane(lines, "edge", "stream")

    def test_missing_body_file(self):
        missing = os.path.join(self.tmp, "missing.json")
        _, out, err = self.run_llmgw("route", "/gateway/openai/v1/x", "-d", "@" + missing,
                                     expect=2)
        self.assertEqual(out, "")
        self.assertIn(missing, err)
        self.assertIn("No such file", err)

    def test_unreadable_stdin_body_is_an_error(self):
        # -d @- read stdin through an iostream that told no error from an end: a closed stdin
        # or a directory gave an empty body and exit 0.
        cases = (("closed", None, "Bad file descriptor"), ("a directory", self.tmp, "Is a directory"))
        for name, path, why in cases:
            fd = os.open(path, os.O_RDONLY) if path else None
            try:
                p = subprocess.run([BINARY, "route", "/gateway/openai/v1/x", "-d", "@-"],
                                   stdin=fd, capture_output=True, env=self.env, timeout=30,
                                   preexec_fn=None if path else (lambda: os.close(0)))
            finally:
                if fd is not None:
                    os.close(fd)
            self.assertEqual(p.returncode, 2, name)
            self.assertEqual(p.stdout, b"", name)
            self.assertIn("cannot read standard input: " + why, p.stderr.decode(), name)

    def test_bad_method(self):
        self.run_llmgw("route", "GE T", "/gateway/openai/v1/models", expect=2)

    def test_lowercase_method_is_accepted(self):
        lines = self.route("post", "/gateway/openai/v1/embeddings")
        self.assertTrue(lines["request"].startswith("POST "), lines)
        self.assert_lane(lines, "background", "long")


def run_on_pty(args, env):
    """Runs llmgw with stdout on a pseudo-terminal; returns (exit status, output bytes)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([BINARY, *args], stdin=subprocess.DEVNULL, stdout=slave,
                                stderr=subprocess.DEVNULL, env=env)
        os.close(slave)
        slave = None
        output = b""
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                proc.kill()
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        return proc.wait(timeout=30), output
    finally:
        os.close(master)
        if slave is not None:
            os.close(slave)


class TestPlainOutput(CliTestCase):
    def test_piped_output_has_no_escape_bytes(self):
        for args in (["services"], ["services", "--json"], ["route", "/gateway/openai/v1/x"],
                     ["route", "--json", "/gateway/openai/v1/x"], ["--help"]):
            with self.subTest(args=args):
                _, out, _ = self.run_llmgw(*args, expect=0)
                self.assertNotIn("\x1b", out)

    def test_terminal_gets_bold_header_unless_no_color(self):
        env = dict(self.env, TERM="xterm")
        status, output = run_on_pty(["services"], env)
        self.assertEqual(status, 0)
        self.assertIn(b"\x1b[1mNAME", output)
        status, output = run_on_pty(["services"], dict(env, NO_COLOR="1"))
        self.assertEqual(status, 0)
        self.assertIn(b"NAME", output)
        self.assertNotIn(b"\x1b", output)


def main():
    global BINARY
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, help="path to the built llmgw")
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"test_cli.py: {BINARY} is not an executable")
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
