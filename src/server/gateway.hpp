// `llmgw serve`: the event loops, the listener, signals and graceful drain (SPEC §3, §11).
#pragma once

#include "config/config.hpp"

namespace llmgw::server {

// Runs until SIGINT/SIGTERM (drains in-flight requests for up to drain_timeout_ms) and
// returns the process exit status: 0 after a clean stop, 1 when it cannot listen.
// What the binary adds to the server. release_memory gives freed memory back to the system; a
// loop calls it from its own thread (an allocator keeps per-thread state) after 10 s without a
// request in progress.
struct GatewayHooks {
    void (*release_memory)() = nullptr;
};

int run_gateway(const config::Config& config, GatewayHooks hooks = {});

}  // namespace llmgw::server
