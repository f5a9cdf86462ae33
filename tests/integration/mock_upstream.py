#!/usr/bin/env python3
"""A scriptable HTTP/1.1 upstream for llmgw's integration tests (127.0.0.1 only).

The behaviour of each request is chosen by the `x-mock` request header, or by the `mock`
query parameter, as `name;key=value;key=value`:

  echo                      200 JSON describing the request (method, raw target, headers, body)
  status;code=503;body=..   that status with a small JSON body (retry_after=S adds Retry-After,
                            retry_after_ms=N retry-after-ms, should_retry=V x-should-retry;
                            flaky's failures take them too)
  sse;events=5;interval_ms=200;done=1
                            text/event-stream, chunked, one event per interval, then [DONE]
                            (cache_first=1: Cache-Control and X-Accel-Buffering before it;
                            one_chunk=1: every event in one HTTP chunk at once;
                            together=1: the head with the first event, and the last event
                            with [DONE] and the last chunk, each in one write;
                            gzip=1: Content-Encoding: gzip, each event compressed and flushed
                            on its own)
  sse_cut;events=3;interval_ms=50;partial=0
                            SSE events, then the connection is reset (no [DONE], no last chunk);
                            partial=1: half an event first, cut mid-line; length=N: with a
                            Content-Length of N instead of chunks
  delay;ms=3000             waits before answering like echo
  hang                      never answers
  reset                     resets the connection before any byte of the answer
  bytes;n=1000;length=1     n bytes of 'x' (length=0: chunked, no Content-Length)
  gzip                      a gzip-compressed JSON body with Content-Encoding: gzip
  flaky;key=K;fail=1;code=503
                            the first `fail` requests with that key get `code`, then echo
  headers;name=value        echo plus extra response headers (Server, Set-Cookie, ... for tests)
  fixture;name=openai_chat.sse;interval_ms=50;chunk=0
                            a recorded body from fixtures/: a .sse file as text/event-stream,
                            chunked, one event per interval (chunk=N: N-byte pieces instead);
                            a .json file as application/json with a Content-Length
  digest                    200 JSON {"sha256": hex, "body_len": n} of the request body
  fixture_stream;name=gemini_array.json;chunk=0;interval_ms=0;keep=-1;end=chunked
                            a fixture (.sse as text/event-stream, .json as application/json)
                            without a Content-Length, in `chunk`-byte pieces (0: whole),
                            `interval_ms` apart; keep=N: only its first N bytes; end=chunked:
                            chunked with its last chunk, end=close: close-delimited, ended by
                            a FIN, end=reset: chunked, then a reset instead of the last chunk,
                            end=hold: chunked, then neither the last chunk nor a close
  sse_long;kib=1100;done=1  an OpenAI chat stream: text "A", an event whose content is `kib`
                            KiB of "x", text "B", then [DONE] (done=0: none, a clean end)

Faults (for test_faults.py):

  head_reset;sse=1          a 200 response head (sse=1: text/event-stream, chunked; sse=0: a
                            Content-Length of 1000), then a reset before any body byte
  garbage                   bytes that are not HTTP at all, then a clean close
  no_reason;split=0         echo with the status line "HTTP/1.1 200" (no space, no reason
                            phrase), kept alive; split=1: the head in two writes 50 ms apart,
                            cut inside the status line
  lf_head;split=0;sse=0     echo (sse=1: an event stream, chunked) with a head whose lines end
                            in a bare LF, kept alive; split=1: the head in two writes 50 ms
                            apart, cut after its first line; cut=close: the first line, then
                            a clean close; cut=big: the first line and 100 KiB of fields
                            with no end, then silence
  close;ms=0                a clean close (FIN) before any byte of the answer (an empty reply),
                            `ms` after the request was read
  big_head;kib=100          a 200 echo whose head carries `kib` KiB of X-Filler-N headers
  head_stall;sse=1          a 200 response head, then silence (the connection stays open)
  short_body;length=1000;send=100[;stall=1]
                            Content-Length: length, but only `send` bytes, then a clean close
                            (stall=1: silence instead, the connection open)
  sse_eof;events=3;interval_ms=50
                            SSE events, then a clean close (FIN) without the last chunk
  sse_bad_chunk;events=2    an SSE head, `events` events and a chunk-size line that is not
                            hex, all in one write, then a clean close
  flood;mb=200              a chunked octet-stream of `mb` MiB written as fast as the reader
                            takes it; `GET /__mock/stats` reports flood_started, flood_sent
                            (bytes handed to the socket) and flood_finished; a reader that
                            goes away mid-flood is listed in /__mock/closed

Connection handling (for test_upstream_client.py):

  close_after;linger_ms=100;reset=0;goodbye=0
                            answers like echo (keep-alive: no Connection: close), waits
                            `linger_ms`, then closes that connection (reset=1: a reset instead of
                            a FIN; goodbye=408: first an unasked `408 Request Timeout` response)
  unasked;delay_ms=100      answers like echo, then `delay_ms` later writes a second, unasked
                            response (200, body "unasked") on the same connection, kept open
  http10;keepalive=0        an `HTTP/1.0 200 OK` echo with a Content-Length and no Connection
                            header (keepalive=1: Connection: keep-alive); the connection stays open
  eof_body;n=100000;pieces=4;interval_ms=20
                            a 200 head with neither Content-Length nor chunked, then n bytes of
                            EOF_BODY_PATTERN (repeated) in `pieces` writes, then a clean close
  interim;codes=103;interval_ms=20
                            the interim heads listed (103: with a Link header; 101 Switching
                            Protocols: Upgrade: websocket), each `interval_ms` apart, then the
                            200 echo on the same connection (final=close: a clean close instead)
  odd_head;kind=folded      the echo with a field folded over three lines (obs-fold: "X-Folded:
                            first", " second", "\tthird"); kind=lengths: two Content-Length
                            fields that disagree (the echo's length and 5 more), then a close
  te_and_cl                 the echo, chunked, with a Content-Length of 2 as well (RFC 9112 §6.3:
                            the Transfer-Encoding decides; libcurl reads it so, Beast refuses it)
  coding;te=gzip, chunked   the echo, chunked, under that Transfer-Encoding (no gzip applied)
  http10_te                 an HTTP/1.0 answer, chunked, with Connection: keep-alive; the
                            connection stays open (RFC 9112 §6.1: faulty framing)
  chunked_ext;trailers=1    a chunked body of CHUNKED_EXT_PIECES with chunk extensions on every
                            chunk size line, then a last chunk with an extension and trailers
  head_only;length=12345;chunked=0
                            a 200 head announcing a body (Content-Length: length, or chunked=1:
                            Transfer-Encoding: chunked) and no body at all, as for a HEAD request
  early;code=413;linger=1     answers `code` (Connection: close) as soon as the request head is
                            in, without reading the body, then closes. linger=1: half-close and
                            read the body to its end first (a graceful server); linger=0: close
                            50 ms later with the body unread, so the kernel resets the connection;
                            keep=1: no Connection: close, and the connection is held open,
                            unread, for 3 s before the reset
  trickle;head_piece=1;body_piece=7;interval_ms=1;chunked=0
                            the echo (chunked=1: the chunked_ext response) written in many tiny
                            TCP writes (TCP_NODELAY): the head `head_piece` bytes at a time, the
                            body `body_piece` bytes at a time, `interval_ms` apart

`--tls CERT KEY` serves HTTPS with that certificate and key instead of plain HTTP; `--host A`
listens on another loopback address than 127.0.0.1 (inside a test's own network namespace).

Every request is recorded; `GET /__mock/requests` returns them as JSON, `/__mock/reset` clears
them, and `/__mock/closed` lists (time, peer) of connections that closed before their answer
was complete. Each record also names its connection: `conn` (a number per accepted
connection), `peer_port`, and `raw_head` (the request head as received, latin-1).
`GET /__mock/conns` returns {"live": n, "idle": n, "live_ids": [...]}: connections still open
that carried at least one request (control requests do not count), and how many of them wait
for their next request; `GET /__mock/close_idle` closes (FIN) every such idle connection and
returns {"closed": n}. A connection that closes while its answer is being written cancels the
answer; bytes of a next request arriving meanwhile (a kept-alive connection reused at once) wait
for it. The listening port is printed on stdout as `PORT <n>` once ready.
"""
import argparse
import asyncio
import gzip
import hashlib
import json
import os
import re
import socket
import struct
import time
import urllib.parse
import zlib

import loopback_server

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
RECORDS = []
CLOSED = []
FLAKY = {}
CONNS = {}  # conn id -> {"peer_port", "requests", "idle", "writer"}: connections still open
NEXT_CONN = [0]


def parse_behaviour(target, headers):
    spec = headers.get("x-mock")
    if spec is None:
        query = urllib.parse.urlsplit(target).query
        spec = urllib.parse.parse_qs(query).get("mock", ["echo"])[0]
    parts = spec.split(";")
    opts = {}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            opts[k.strip()] = v.strip()
    return parts[0].strip() or "echo", opts


class BadFraming(Exception):
    """A request whose length cannot be read without guessing: answered 400 and closed, so
    that a gateway framing its requests loosely fails the test instead of passing it."""


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    raw_head = head.decode("latin-1")
    headers = {}
    raw_headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, value = line.split(":", 1)
        raw_headers.append([name, value.strip()])
        headers[name.strip().lower()] = value.strip()
    body = b""
    if parse_behaviour(target, headers)[0] == "early":
        return method, target, headers, raw_headers, None, raw_head  # answered before the body
    if "content-length" in headers and "transfer-encoding" in headers:
        raise BadFraming("both Content-Length and Transfer-Encoding")
    if "content-length" in headers:
        if not re.fullmatch(r"[0-9]+", headers["content-length"]):
            raise BadFraming("Content-Length %r" % headers["content-length"])
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            m = re.fullmatch(rb"([0-9A-Fa-f]+)(;[^\r\n]*)?\r\n", size_line)
            if not m:
                raise BadFraming("chunk size line %r" % size_line)
            size = int(m.group(1), 16)
            if size == 0:
                while await reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailer fields, up to the empty line
                break
            body += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise BadFraming("no CRLF after a chunk's data")
    elif "transfer-encoding" in headers:
        raise BadFraming("Transfer-Encoding %r" % headers["transfer-encoding"])
    return method, target, headers, raw_headers, body, raw_head


def response(status, headers, body=b""):
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
              429: "Too Many Requests",
              500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
              413: "Content Too Large", 504: "Gateway Timeout",
              529: "Overloaded"}.get(status, "Status")
    out = [f"HTTP/1.1 {status:03d} {reason}"]  # status;code=0: "000", which Beast takes
    for k, v in headers:
        out.append(f"{k}: {v}")
    out.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body


def reset(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def answer_early(reader, writer, opts):
    """The `early` behaviour: the answer before the request body, then the end of the connection."""
    code = int(opts.get("code", "413"))
    keep = opts.get("keep") == "1"
    fields = [("Content-Type", "application/json")] + ([] if keep else [("Connection", "close")])
    body = b'{"error":{"message":"request body too large","code":%d}}' % code
    writer.write(response(code, fields, body))
    await writer.drain()
    if keep:
        await asyncio.sleep(3)
        writer.transport.abort()
    elif opts.get("linger", "1") == "1":
        writer.write_eof()
        try:
            while await asyncio.wait_for(reader.read(1 << 16), 10):
                pass
        except (asyncio.TimeoutError, ConnectionError):
            pass
        writer.close()
    else:
        await asyncio.sleep(0.05)
        writer.transport.abort()  # the body is unread: the kernel answers it with a reset


def chunk(data):
    return b"%x\r\n" % len(data) + data + b"\r\n"


async def serve_sse(writer, opts, cut):
    events = int(opts.get("events", "5"))
    interval = int(opts.get("interval_ms", "200")) / 1000.0
    length = opts.get("length")  # a Content-Length instead of chunks (sse_cut only)
    frame = (lambda b: b) if length else chunk
    if length:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Content-Length: " + length.encode() + b"\r\n\r\n")
    elif opts.get("cache_first") == "1":  # caching headers ahead of the Content-Type
        head = (b"HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nX-Accel-Buffering: yes\r\n"
                b"Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    elif opts.get("gzip") == "1":
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n")
    else:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Cache-Control: no-store\r\nTransfer-Encoding: chunked\r\n\r\n")
    compressor = zlib.compressobj(wbits=31) if opts.get("gzip") == "1" else None

    def coded(text):
        if compressor is None:
            return text
        return compressor.compress(text) + compressor.flush(zlib.Z_SYNC_FLUSH)

    def event(i):
        payload = json.dumps({"choices": [{"delta": {"content": f"tok{i} "}}], "i": i})
        return coded(f"data: {payload}\n\n".encode())
    if opts.get("together") == "1" and not cut and not length and events >= 2:
        writer.write(head + chunk(event(0)))
        await writer.drain()
        for i in range(1, events - 1):
            await asyncio.sleep(interval)
            writer.write(chunk(event(i)))
            await writer.drain()
        await asyncio.sleep(interval)
        writer.write(chunk(event(events - 1)) + chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n")
        await writer.drain()
        return True
    writer.write(head)
    await writer.drain()
    if opts.get("one_chunk") == "1":  # every event in one HTTP chunk, sent at once
        writer.write(frame(b"".join(event(i) for i in range(events))))
        await writer.drain()
        events = 0
    for i in range(events):
        writer.write(frame(event(i)))
        await writer.drain()
        if i + 1 < events:
            await asyncio.sleep(interval)
    if cut:
        if opts.get("partial") == "1":  # half an event, cut mid-line
            writer.write(frame(b'data: {"choices":[{"delta":{"content":"Hel'))
            await writer.drain()
        await asyncio.sleep(interval)
        reset(writer)
        return False
    if opts.get("done", "1") == "1":
        writer.write(chunk(coded(b"data: [DONE]\n\n")))
    if compressor is not None:
        writer.write(chunk(compressor.flush()))
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    return True


async def serve_fixture(writer, opts):
    name = opts.get("name", "")
    if not re.fullmatch(r"[A-Za-z0-9_]+\.(sse|json)", name):
        writer.write(response(400, [], b"bad fixture name"))
        return
    path = os.path.join(FIXTURES, name)
    if name.endswith(".json"):
        with open(path, "rb") as f:
            writer.write(response(200, [("Content-Type", "application/json")], f.read()))
        return
    with open(path, "rb") as f:
        data = f.read()
    interval = int(opts.get("interval_ms", "0")) / 1000.0
    size = int(opts.get("chunk", "0"))
    if size > 0:
        pieces = [data[i:i + size] for i in range(0, len(data), size)]
    else:
        pieces = [p for p in re.split(rb"(?<=\n\n)|(?<=\r\n\r\n)", data) if p]
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    for i, piece in enumerate(pieces):
        writer.write(chunk(piece))
        await writer.drain()
        if interval and i + 1 < len(pieces):
            await asyncio.sleep(interval)
    writer.write(b"0\r\n\r\n")


async def serve_fixture_stream(writer, opts):
    name = opts.get("name", "")
    if not re.fullmatch(r"[A-Za-z0-9_]+\.(sse|json|ndjson)", name):
        writer.write(response(400, [], b"bad fixture name"))
        return True
    with open(os.path.join(FIXTURES, name), "rb") as f:
        data = f.read()
    keep = int(opts.get("keep", "-1"))
    if keep >= 0:
        data = data[:keep]
    size = int(opts.get("chunk", "0")) or max(1, len(data))
    interval = int(opts.get("interval_ms", "0")) / 1000.0
    end = opts.get("end", "chunked")
    ctype = {"json": b"application/json", "ndjson": b"application/x-ndjson"}.get(
        name.rsplit(".", 1)[1], b"text/event-stream")
    framing = b"Connection: close\r\n" if end == "close" else b"Transfer-Encoding: chunked\r\n"
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + ctype + b"\r\n" + framing + b"\r\n")
    frame = (lambda b: b) if end == "close" else chunk
    for i in range(0, len(data), size):
        writer.write(frame(data[i:i + size]))
        await writer.drain()
        if interval and i + size < len(data):
            await asyncio.sleep(interval)
    if end == "reset":
        await asyncio.sleep(0.05)
        reset(writer)
        return False
    if end == "close":
        return False  # the end of the body is the end of the connection
    if end == "hold":  # no last chunk: the body stays open until the client leaves (an hour)
        await asyncio.sleep(3600)
        return False
    writer.write(b"0\r\n\r\n")
    return True


async def serve_sse_long(writer, opts):
    def event(content):
        payload = json.dumps({"object": "chat.completion.chunk",
                              "choices": [{"index": 0, "delta": {"content": content}}]})
        return f"data: {payload}\n\n".encode()
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    pieces = [event("A"), event("x" * (int(opts.get("kib", "1100")) * 1024)), event("B")]
    if opts.get("done", "1") == "1":
        pieces.append(b"data: [DONE]\n\n")
    for piece in pieces:
        writer.write(chunk(piece))
        await writer.drain()
    writer.write(b"0\r\n\r\n")
    return True


def retry_fields(opts):
    """An error answer's retry hints: retry_after=S, retry_after_ms=N, should_retry=V."""
    fields = [("Retry-After", opts["retry_after"])] if "retry_after" in opts else []
    if "retry_after_ms" in opts:
        fields.append(("retry-after-ms", opts["retry_after_ms"]))
    if "should_retry" in opts:
        fields.append(("x-should-retry", opts["should_retry"]))
    return fields


async def answer(writer, method, target, headers, raw_headers, body):
    name, opts = parse_behaviour(target, headers)
    echo = {"method": method, "target": target, "headers": raw_headers,
            "body": body.decode("latin-1"), "body_len": len(body)}
    echo_bytes = json.dumps(echo).encode()
    json_type = ("Content-Type", "application/json")
    if name == "echo":
        writer.write(response(200, [json_type], echo_bytes))
    elif name == "status":
        code = int(opts.get("code", "500"))
        extra = [json_type] + retry_fields(opts)
        payload = opts.get("body", json.dumps({"error": {"message": f"mock {code}"}}))
        writer.write(response(code, extra, payload.encode()))
    elif name in ("sse", "sse_cut"):
        return await serve_sse(writer, opts, name == "sse_cut")
    elif name == "delay":
        await asyncio.sleep(int(opts.get("ms", "1000")) / 1000.0)
        writer.write(response(200, [json_type], echo_bytes))
    elif name == "hang":
        await asyncio.sleep(3600)
    elif name == "reset":
        reset(writer)
        return False
    elif name == "bytes":
        n = int(opts.get("n", "1000"))
        data = b"x" * n
        if opts.get("length", "1") == "1":
            writer.write(response(200, [("Content-Type", "application/octet-stream")], data))
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")
            for i in range(0, n, 16384):
                writer.write(chunk(data[i:i + 16384]))
                await writer.drain()
            writer.write(b"0\r\n\r\n")
    elif name == "gzip":
        data = gzip.compress(echo_bytes)
        writer.write(response(200, [json_type, ("Content-Encoding", "gzip")], data))
    elif name == "flaky":
        key = opts.get("key", "default")
        seen = FLAKY.get(key, 0)
        FLAKY[key] = seen + 1
        if seen < int(opts.get("fail", "1")):
            code = int(opts.get("code", "503"))
            writer.write(response(code, [json_type] + retry_fields(opts), b'{"error":"flaky"}'))
        else:
            writer.write(response(200, [json_type], echo_bytes))
    elif name == "fixture":
        await serve_fixture(writer, opts)
    elif name == "fixture_stream":
        if not await serve_fixture_stream(writer, opts):
            return False
    elif name == "sse_long":
        await serve_sse_long(writer, opts)
    elif name == "digest":
        digest = {"sha256": hashlib.sha256(body).hexdigest(), "body_len": len(body)}
        writer.write(response(200, [json_type], json.dumps(digest).encode()))
    elif name == "headers":
        extra = [json_type] + [(k, v) for k, v in opts.items()]
        writer.write(response(200, extra, echo_bytes))
    elif name in FAULTS:
        return await FAULTS[name](writer, opts, echo_bytes)
    else:
        writer.write(response(400, [json_type], b'{"error":"unknown mock behaviour"}'))
    await writer.drain()
    return True


async def handle(reader, writer):
    peer = writer.get_extra_info("peername")
    NEXT_CONN[0] += 1
    conn_id = NEXT_CONN[0]
    conn = CONNS[conn_id] = {"peer_port": peer[1], "requests": 0, "idle": True, "writer": writer}
    try:
        while True:
            conn["idle"] = True
            try:
                method, target, headers, raw_headers, body, raw_head = await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            except BadFraming as e:
                writer.write(response(400, [("Connection", "close")],
                                      b"mock: bad request framing: " + str(e).encode()))
                await writer.drain()
                return
            conn["idle"] = False
            if target.startswith("/__mock/"):
                await control(writer, target)
                continue
            conn["requests"] += 1
            RECORDS.append({"time": time.time(), "method": method, "target": target,
                            "headers": raw_headers, "body_len": len(body or b""),
                            "body": (body or b"").decode("latin-1"), "conn": conn_id,
                            "peer_port": peer[1], "raw_head": raw_head})
            if body is None:
                await answer_early(reader, writer, parse_behaviour(target, headers)[1])
                return
            task = asyncio.ensure_future(answer(writer, method, target, headers, raw_headers, body))
            closed = asyncio.ensure_future(reader.read(1))
            done, _ = await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
            early = b""
            if closed in done:
                try:
                    early = closed.result()
                except ConnectionError:
                    early = b""
                if not early:  # the peer went away
                    if not task.done():
                        CLOSED.append({"time": time.time(), "peer": list(peer), "target": target})
                        task.cancel()
                        writer.close()
                    return
                # Not a close: the first byte of the next request on a kept-alive connection,
                # sent as soon as this answer was complete. It goes back in front of the
                # reader's buffer for the next read_request().
                await task
            else:
                closed.cancel()
                try:
                    await closed  # the reader may be used again only once this read is gone
                except asyncio.CancelledError:
                    pass
            if early:
                reader._buffer[:0] = early  # pylint: disable=protected-access
            if not task.result():
                return
    except (ConnectionError, asyncio.CancelledError):
        CLOSED.append({"time": time.time(), "peer": list(peer), "target": "?"})
    finally:
        CONNS.pop(conn_id, None)
        try:
            writer.close()
        except Exception:
            pass


async def control(writer, target):
    path = urllib.parse.urlsplit(target).path
    if path == "/__mock/requests":
        body = json.dumps(RECORDS).encode()
    elif path == "/__mock/closed":
        body = json.dumps(CLOSED).encode()
    elif path == "/__mock/stats":
        body = json.dumps(FLOOD).encode()
    elif path == "/__mock/conns":
        live = sorted(i for i, c in CONNS.items() if c["requests"] > 0)
        idle = [i for i in live if CONNS[i]["idle"]]
        body = json.dumps({"live": len(live), "idle": len(idle), "live_ids": live}).encode()
    elif path == "/__mock/close_idle":
        idle = [c for c in CONNS.values() if c["requests"] > 0 and c["idle"]]
        for c in idle:
            c["writer"].close()  # a FIN; the handler's pending read then ends
        body = json.dumps({"closed": len(idle)}).encode()
    elif path == "/__mock/reset":
        RECORDS.clear()
        CLOSED.clear()
        FLAKY.clear()
        FLOOD.update(flood_started=0, flood_sent=0, flood_finished=0)
        body = b"{}"
    else:
        body = b"{}"
    writer.write(response(200, [("Content-Type", "application/json")], body))
    await writer.drain()


# ---- faults (test_faults.py) ----
FLOOD = {"flood_started": 0, "flood_sent": 0, "flood_finished": 0}
SSE_HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")


def sse_event(i):
    payload = json.dumps({"choices": [{"delta": {"content": f"tok{i} "}}], "i": i})
    return chunk(f"data: {payload}\n\n".encode())


async def fault_head_reset(writer, opts, _echo):
    if opts.get("sse", "1") == "1":
        writer.write(SSE_HEAD)
    else:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.2)  # let the head reach the gateway on its own
    reset(writer)
    return False


async def fault_garbage(writer, _opts, _echo):
    writer.write(b"\x16\x03\x01 this is not HTTP at all \x00\xff\xfe\r\n\r\n" + b"\x8a" * 512)
    await writer.drain()
    return False  # then a clean close


async def fault_no_reason(writer, opts, echo):
    answer = (b"HTTP/1.1 200\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(echo)).encode() + b"\r\n\r\n" + echo)
    if opts.get("split") == "1":
        writer.write(answer[:10])
        await writer.drain()
        await asyncio.sleep(0.05)
        answer = answer[10:]
    writer.write(answer)
    await writer.drain()
    return True


async def fault_lf_head(writer, opts, echo):
    if opts.get("sse") == "1":
        head = b"HTTP/1.1 200 OK\nContent-Type: text/event-stream\nTransfer-Encoding: chunked\n\n"
        body = chunk(b"data: " + echo + b"\n\n") + b"0\r\n\r\n"
    else:
        body = echo + b"\n"  # a bare LF after the head, to be left as it is
        head = (b"HTTP/1.1 200 OK\nContent-Type: application/json\nContent-Length: " +
                str(len(body)).encode() + b"\n\n")
    first = head.index(b"\n") + 1
    if opts.get("cut") in ("close", "big"):
        writer.write(head[:first])
        if opts["cut"] == "close":
            await writer.drain()
            return False
        writer.write(b"".join(b"X-Filler-%d: %s\n" % (i, b"f" * 90) for i in range(1024)))
        await writer.drain()
        await asyncio.sleep(3600)
        return False
    if opts.get("split") == "1":
        writer.write(head[:first])
        await writer.drain()
        await asyncio.sleep(0.05)
        head = head[first:]
    writer.write(head + body)
    await writer.drain()
    return True


async def fault_close(_writer, opts, _echo):
    await asyncio.sleep(int(opts.get("ms", "0")) / 1000.0)
    return False


async def fault_coding(writer, opts, echo):
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: " +
                 opts.get("te", "gzip, chunked").encode() + b"\r\n\r\n" + chunk(echo) +
                 b"0\r\n\r\n")
    await writer.drain()
    return True


async def fault_http10_te(writer, _opts, echo):
    writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive"
                 b"\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(echo) + b"0\r\n\r\n")
    await writer.drain()
    return True


async def fault_te_and_cl(writer, _opts, echo):
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n" + chunk(echo) + b"0\r\n\r\n")
    await writer.drain()
    return True


async def fault_odd_head(writer, opts, echo):
    if opts.get("kind") == "lengths":  # two Content-Length fields that disagree
        fields = b"Content-Length: %d\r\nContent-Length: %d\r\n" % (len(echo), len(echo) + 5)
    else:  # folded: a field continued on a line that starts with a space, then a tab
        fields = (b"X-Folded: first\r\n second\r\n\tthird\r\nContent-Length: %d\r\n"
                  % len(echo))
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + fields + b"\r\n" +
                 echo)
    await writer.drain()
    return opts.get("kind") != "lengths"


async def fault_big_head(writer, opts, echo):
    total = int(opts.get("kib", "100")) * 1024
    lines, size, i = [], 0, 0
    while size < total:
        line = f"X-Filler-{i}: {'f' * 200}"
        lines.append(line)
        size += len(line) + 2
        i += 1
    head = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + "\r\n".join(lines) +
            f"\r\nContent-Length: {len(echo)}\r\n\r\n").encode()
    writer.write(head + echo)
    await writer.drain()
    return True


async def fault_head_stall(writer, opts, _echo):
    if opts.get("sse", "1") == "1":
        writer.write(SSE_HEAD)
    else:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(3600)
    return False


async def fault_short_body(writer, opts, _echo):
    length = int(opts.get("length", "1000"))
    send = int(opts.get("send", "100"))
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 b"Content-Length: %d\r\n\r\n" % length + b"y" * send)
    await writer.drain()
    if opts.get("stall") == "1":
        await asyncio.sleep(3600)  # silence, the connection open
    await asyncio.sleep(0.1)
    return False  # a clean close, short of the announced length


async def fault_sse_eof(writer, opts, _echo):
    events = int(opts.get("events", "3"))
    interval = int(opts.get("interval_ms", "50")) / 1000.0
    writer.write(SSE_HEAD)
    for i in range(events):
        writer.write(sse_event(i))
        await writer.drain()
        await asyncio.sleep(interval)
    return False  # a clean close (FIN) with no last chunk


async def fault_sse_bad_chunk(writer, opts, _echo):
    events = int(opts.get("events", "2"))
    writer.write(SSE_HEAD + b"".join(sse_event(i) for i in range(events)) + b"zz\r\n")
    await writer.drain()
    return False


async def fault_flood(writer, opts, _echo):
    total = int(opts.get("mb", "200")) << 20
    piece = chunk(b"z" * 65536)
    FLOOD["flood_started"] += 1
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    sent = 0
    while sent < total:
        writer.write(piece)
        try:
            await writer.drain()
        except ConnectionError:
            # A reader that goes away while we write shows up here, not as a read of EOF.
            CLOSED.append({"time": time.time(), "peer": list(writer.get_extra_info("peername")),
                           "target": "flood"})
            return False
        sent += 65536
        FLOOD["flood_sent"] += 65536
    writer.write(b"0\r\n\r\n")
    await writer.drain()
    FLOOD["flood_finished"] += 1
    return True


# ---- connection handling (test_upstream_client.py) ----
EOF_BODY_PATTERN = bytes(range(256))
CHUNKED_EXT_PIECES = [b"hello", b" world\r\n0\r\n\r\n", bytes(range(256)), b"x" * 5000, b";ext"]
CHUNKED_EXT_EXTENSIONS = [";ext=1", ';name="quoted;value"', ";a;b=c", " ; spaced = 1", ""]


def chunked_ext_response(trailers=True):
    head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
            + (b"Trailer: X-Checksum, X-Other\r\n" if trailers else b"")
            + b"Transfer-Encoding: chunked\r\n\r\n")
    body = b""
    for piece, ext in zip(CHUNKED_EXT_PIECES, CHUNKED_EXT_EXTENSIONS):
        body += b"%x" % len(piece) + ext.encode() + b"\r\n" + piece + b"\r\n"
    body += b"0;final=yes\r\n"
    if trailers:
        body += b"X-Checksum: abc123\r\nX-Other: 1\r\n"
    return head, body + b"\r\n"


async def conn_close_after(writer, opts, echo):
    writer.write(response(200, [("Content-Type", "application/json")], echo))
    await writer.drain()
    await asyncio.sleep(int(opts.get("linger_ms", "100")) / 1000.0)
    goodbye = int(opts.get("goodbye", "0"))
    if goodbye:
        writer.write(b"HTTP/1.1 %d Request Timeout\r\nConnection: close\r\n"
                     b"Content-Length: 0\r\n\r\n" % goodbye)
        await writer.drain()
    if opts.get("reset", "0") == "1":
        reset(writer)
    return False  # the handler closes the connection (a FIN)


async def conn_unasked(writer, opts, echo):
    writer.write(response(200, [("Content-Type", "application/json")], echo))
    await writer.drain()
    await asyncio.sleep(int(opts.get("delay_ms", "100")) / 1000.0)
    writer.write(response(200, [("Content-Type", "text/plain")], b"unasked"))
    await writer.drain()
    return True


async def conn_http10(writer, opts, echo):
    head = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
    if opts.get("keepalive", "0") == "1":
        head += b"Connection: keep-alive\r\n"
    writer.write(head + b"Content-Length: %d\r\n\r\n" % len(echo) + echo)
    await writer.drain()
    return True


async def conn_eof_body(writer, opts, _echo):
    n = int(opts.get("n", "100000"))
    pieces = max(1, int(opts.get("pieces", "4")))
    interval = int(opts.get("interval_ms", "20")) / 1000.0
    data = (EOF_BODY_PATTERN * (n // len(EOF_BODY_PATTERN) + 1))[:n]
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
    step = -(-n // pieces)
    for i in range(0, n, step):
        await asyncio.sleep(interval)
        writer.write(data[i:i + step])
        await writer.drain()
    return False  # the end of the body is the end of the connection


async def conn_interim(writer, opts, echo):
    interval = int(opts.get("interval_ms", "20")) / 1000.0
    for code in opts.get("codes", "103").split(","):
        code = int(code)
        if code == 101:
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                         b"Upgrade: websocket\r\n\r\n")
        elif code == 103:
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style"
                         b"\r\nX-Interim: yes\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 %d Interim\r\n\r\n" % code)
        await writer.drain()
        await asyncio.sleep(interval)
    if opts.get("final") == "close":
        return False  # a clean close with no final answer
    writer.write(response(200, [("Content-Type", "application/json")], echo))
    await writer.drain()
    return True


async def conn_chunked_ext(writer, opts, _echo):
    head, body = chunked_ext_response(opts.get("trailers", "1") == "1")
    writer.write(head + body)
    await writer.drain()
    return True


async def conn_head_only(writer, opts, _echo):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Head-Only: yes\r\n"
    if opts.get("chunked", "0") == "1":
        head += b"Transfer-Encoding: chunked\r\n"
    else:
        head += b"Content-Length: %d\r\n" % int(opts.get("length", "12345"))
    writer.write(head + b"\r\n")
    await writer.drain()
    return True


async def conn_trickle(writer, opts, echo):
    head_piece = max(1, int(opts.get("head_piece", "1")))
    body_piece = max(1, int(opts.get("body_piece", "7")))
    interval = int(opts.get("interval_ms", "1")) / 1000.0
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if opts.get("chunked", "0") == "1":
        head, body = chunked_ext_response()
    else:
        whole = response(200, [("Content-Type", "application/json")], echo)
        cut = whole.index(b"\r\n\r\n") + 4
        head, body = whole[:cut], whole[cut:]
    for data, size in ((head, head_piece), (body, body_piece)):
        for i in range(0, len(data), size):
            writer.write(data[i:i + size])
            await writer.drain()
            await asyncio.sleep(interval)
    return True


FAULTS = {"head_reset": fault_head_reset, "garbage": fault_garbage, "close": fault_close,
          "no_reason": fault_no_reason,
          "lf_head": fault_lf_head,
          "te_and_cl": fault_te_and_cl, "odd_head": fault_odd_head, "coding": fault_coding, "http10_te": fault_http10_te,
          "big_head": fault_big_head, "head_stall": fault_head_stall, "short_body": fault_short_body,
          "sse_eof": fault_sse_eof, "sse_bad_chunk": fault_sse_bad_chunk, "flood": fault_flood,
          "close_after": conn_close_after, "unasked": conn_unasked, "http10": conn_http10,
          "eof_body": conn_eof_body, "interim": conn_interim, "chunked_ext": conn_chunked_ext,
          "head_only": conn_head_only, "trickle": conn_trickle}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address to listen on")
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"),
                        help="serve HTTPS with this certificate and key")
    args = parser.parse_args()
    ssl_context = None
    if args.tls:
        import ssl
        ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_context.load_cert_chain(args.tls[0], args.tls[1])
    await loopback_server.serve(handle, args.host, args.port, backlog=1024, ssl=ssl_context)


if __name__ == "__main__":
    loopback_server.run(main)
