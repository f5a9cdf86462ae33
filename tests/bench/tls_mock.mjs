// tls_mock.mjs - the bench's mock upstream (mock_upstream.c) over TLS, speaking HTTP/2 and
// HTTP/1.1 (ALPN), for the phases that measure https:// upstreams: real providers answer over
// TLS and HTTP/2, where libcurl carries many streams on one connection.
//
//   node tls_mock.mjs PORT CERT KEY        (binds 127.0.0.1 only; prints "PORT n" when ready)
//
// The same endpoints and bytes as mock_upstream.c:
//   POST .../chat/completions[?chunks=N&delay_ms=D]: a body with "stream": true gets
//        text/event-stream, N chat.completion.chunk events (default 20), chunk k at t0 + k*D ms,
//        then "data: [DONE]"; any other body the fixed ~400-byte chat.completion JSON.
//   GET  /health: 200 "ok".
// For the tests (tests/integration/test_upstream_tls.py):
//   ?refuse_once=KEY: the first HTTP/2 request with that KEY is reset with REFUSED_STREAM, as a
//        server at its stream limit refuses one (it was not processed); later ones answered.
import http2 from "node:http2";
import fs from "node:fs";

const [port, certPath, keyPath] = process.argv.slice(2);
if (!port || !certPath || !keyPath) {
    process.stderr.write("usage: node tls_mock.mjs PORT CERT KEY\n");
    process.exit(2);
}

const NONSTREAM_BODY =
    '{"id":"chatcmpl-mock0001","object":"chat.completion","created":1700000000,' +
    '"model":"gpt-4o-mini-mock","system_fingerprint":"fp_mock","choices":[{"index":0,' +
    '"message":{"role":"assistant","content":"Hello! This is a fixed response from the ' +
    'mock upstream used for gateway benchmarks."},"logprobs":null,"finish_reason":"stop"}],' +
    '"usage":{"prompt_tokens":25,"completion_tokens":17,"total_tokens":42}}';
const SSE_CHUNK =
    'data: {"id":"x","object":"chat.completion.chunk","created":1700000000,' +
    '"model":"gpt-4o-mini-mock","choices":[{"index":0,"delta":{"content":"tok "},' +
    '"finish_reason":null}]}\n\n';
const SSE_DONE = "data: [DONE]\n\n";

function param(query, name, fallback, max) {
    const value = query.get(name);
    if (value === null || !/^\d+$/.test(value)) return fallback;
    return Math.min(Number(value), max);
}

function stream(res, chunks, delayMs) {
    res.writeHead(200, {"content-type": "text/event-stream", "cache-control": "no-cache"});
    const t0 = Date.now();
    let sent = 0;
    const timers = new Set();
    const emit = () => {
        if (res.destroyed || res.writableEnded) return;
        if (delayMs === 0) {
            // all at once, as fast as the reader takes them (mock_upstream.c's flood)
            while (sent < chunks) {
                sent += 1;
                if (!res.write(SSE_CHUNK)) {
                    res.once("drain", emit);
                    return;
                }
            }
        }
        if (sent >= chunks) {
            res.end(SSE_DONE);
            return;
        }
        res.write(SSE_CHUNK);
        sent += 1;
        const timer = setTimeout(() => {
            timers.delete(timer);
            emit();
        }, Math.max(0, t0 + sent * delayMs - Date.now()));
        timers.add(timer);
    };
    res.on("close", () => timers.forEach(clearTimeout));
    emit();
}

const refused = new Set();

function handle(req, res) {
    const url = new URL(req.url, "https://127.0.0.1");
    const refuse = url.searchParams.get("refuse_once");
    if (refuse !== null && req.stream && !refused.has(refuse)) {
        refused.add(refuse);
        req.stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
        return;
    }
    res.setHeader("x-mock-http-version", req.httpVersion);  // "2.0", or "1.1" (allowHTTP1)
    if (req.method === "GET" && url.pathname === "/health") {
        res.writeHead(200, {"content-type": "text/plain"});
        res.end("ok");
        return;
    }
    if (req.method !== "POST" || !url.pathname.endsWith("/chat/completions")) {
        res.writeHead(404, {"content-type": "text/plain"});
        res.end("not found");
        return;
    }
    const parts = [];
    req.on("data", (part) => parts.push(part));
    req.on("end", () => {
        const body = Buffer.concat(parts).toString();
        if (/"stream"\s*:\s*true/.test(body)) {
            stream(res, param(url.searchParams, "chunks", 20, 1000000),
                   param(url.searchParams, "delay_ms", 0, 60000));
        } else {
            res.writeHead(200, {"content-type": "application/json",
                                "content-length": Buffer.byteLength(NONSTREAM_BODY)});
            res.end(NONSTREAM_BODY);
        }
    });
}

const server = http2.createSecureServer({
    cert: fs.readFileSync(certPath),
    key: fs.readFileSync(keyPath),
    allowHTTP1: true,
}, handle);
server.listen(Number(port), "127.0.0.1", () => {
    process.stdout.write(`PORT ${server.address().port}\n`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => process.exit(0));
