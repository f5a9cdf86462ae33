// Gateway-wide settings and the routing table knobs (SPEC §2, §3, §6, §10).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/service.hpp"

namespace llmgw::config {

struct GatewaySettings {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8787;
    std::string allowed_origin = "*";              // "*" or comma-separated origins
    std::int64_t default_timeout_ms = 20000;       // DEFAULT_TIMEOUT
    std::int64_t background_timeout_ms = 240000;   // BACKGROUND_TIMEOUT, at most 300000
    std::uint64_t max_response_size = 6291456;    // MAX_RESPONSE_SIZE, 0 = none
    bool enable_retry = true;                      // ENABLE_RETRY
    bool enable_fallback = true;                   // ENABLE_FALLBACK
    std::string log_level = "info";                // LOG_LEVEL
    std::string log_format = "text";
    std::int64_t stream_idle_timeout_ms = 120000;
    int background_slots = 16;
    int background_queue_max = 256;
    std::int64_t background_queue_timeout_ms = 2000;
    std::uint64_t max_request_bytes = 32ull << 20;
    std::int64_t max_retry_after_ms = 10000;
    std::int64_t keepalive_timeout_ms = 75000;
    std::int64_t header_timeout_ms = 30000;       // a client must send its headers within this
    std::int64_t send_timeout_ms = 60000;  // a client must take some of an answer within this
    std::int64_t drain_timeout_ms = 10000;
    int threads = 0;                               // 0: number of cores
    int max_connections = 20000;
    int busy_poll_us = 200;  // 0: a loop sleeps as soon as it has nothing to do
    // Idle connections the native client keeps per http:// upstream and loop (0: none).
    int upstream_keepalive = 1024;
    std::int64_t upstream_keepalive_timeout_ms = 30000;  // an idle one is not reused after this
};

struct RoutingSettings {
    // Path prefixes of the upstream path that go to the background lane.
    std::vector<std::string> long_prefixes{"/v1/audio/",   "/v1/images/",      "/v1/embeddings",
                                           "/v1/fine-tunes", "/v1/fine_tuning/", "/v1/files",
                                           "/v1/uploads",  "/v1/batches"};
    // Gemini method suffixes (":embedContent") that go to the background lane.
    std::vector<std::string> long_suffixes{":embedContent", ":batchEmbedContents", ":predict"};
    std::uint64_t large_body_bytes = 1ull << 20;
    // JSON bodies up to this size are read for a top-level "stream": true.
    std::uint64_t stream_peek_bytes = 8ull << 20;
};

}  // namespace llmgw::config
