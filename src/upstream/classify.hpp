// Maps libcurl's result codes onto the gateway's error types (SPEC §7): by code, never by text.
#pragma once

#include <curl/curl.h>

#include "util/gateway_error.hpp"

namespace llmgw::upstream {

ErrorType classify(CURLcode code);

}  // namespace llmgw::upstream
