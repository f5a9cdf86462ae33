-- wrk script for the llmgw bench: POST a ~320 byte non-streaming OpenAI chat request (the mock
-- answers ~400 bytes) and print machine-readable stats on one `WRKJSON {...}` line.
-- Latency percentiles come from wrk's histogram in microseconds.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-mock-key"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant used in a gateway benchmark."},{"role":"user","content":"Write one short sentence about load testing an HTTP proxy on the loopback interface, please."}],"temperature":0.2,"max_tokens":64,"stream":false,"user":"bench-client-0001"}'

-- No response() callback: it would run Lua for every answer and slow wrk down. Status errors
-- (non-2xx/3xx) are counted by wrk itself; bench.py checks a body with curl before each run.
done = function(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
    '"lat_mean_ms":%.4f,"lat_p50_ms":%.4f,"lat_p90_ms":%.4f,"lat_p99_ms":%.4f,"lat_p999_ms":%.4f,"lat_max_ms":%.4f,' ..
    '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, secs, summary.requests / secs, summary.bytes,
    latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency:percentile(99.9) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
