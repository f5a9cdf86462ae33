// Maps libcurl's result codes onto the gateway's error types (SPEC §7): by code, never by text.
#pragma once

#include <curl/curl.h>

#include "util/gateway_error.hpp"

namespace llmgw::upstream {

ErrorType classify(CURLcode code);

// libcurl refused what the upstream answered, before any line of it reached the header
// callback: a status outside 100-999 or under 100 ("Unsupported response code"), bytes that
// are no HTTP head ("Received HTTP/0.9"), other replies it cannot read. The upstream had the
// request by then.
bool refused_an_answer(CURLcode code);

}  // namespace llmgw::upstream
