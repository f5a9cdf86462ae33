// The request head the native HTTP/1.1 client writes: one allocation, no formatting library.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "upstream/h1_url.hpp"
#include "upstream/request.hpp"

namespace llmgw::upstream {

// "METHOD target HTTP/1.1", Host (the URL's authority, or a Host header of the request), the
// request's other headers in order except those that frame the message or the connection
// (Content-Length, Transfer-Encoding, Connection, Expect: the gateway answers 100-continue
// itself, …), then Content-Length when there is a body or the method expects one. Nothing when the method or a header name is not a token or a value holds a
// CR, LF or NUL (never sent: it would change the message); `bad_header` then names it.
std::optional<std::string> h1_request_head(const UpstreamRequest& request, const H1Target& target,
                                           std::string* bad_header = nullptr);

}  // namespace llmgw::upstream
