// The gateway's own pages: health JSON and the welcome page at "/".
#pragma once

#include <chrono>

#include "config/config.hpp"
#include "server/handler.hpp"

namespace llmgw::server {

Reply health_page(std::chrono::steady_clock::time_point started);
Reply welcome_page(const config::Config& config);

}  // namespace llmgw::server
