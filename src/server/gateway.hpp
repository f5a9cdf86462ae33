// `llmgw serve`: the event loops, the listener, signals and graceful drain (SPEC §3, §11).
#pragma once

#include "config/config.hpp"

namespace llmgw::server {

// Runs until SIGINT/SIGTERM (drains in-flight requests for up to drain_timeout_ms) and
// returns the process exit status: 0 after a clean stop, 1 when it cannot listen.
int run_gateway(const config::Config& config);

}  // namespace llmgw::server
