// The gateway's own pages: health JSON and the welcome page at "/".
#pragma once

#include <chrono>

#include "config/config.hpp"
#include "server/handler.hpp"

namespace llmgw::server {

Reply health_page(std::chrono::steady_clock::time_point started);
// The examples name the address the browser used (its Host header, when it is a plain
// host[:port]), else `listening` ("127.0.0.1:8787").
Reply welcome_page(std::string_view host_header, std::string_view listening,
                   const config::Config& config);

}  // namespace llmgw::server
