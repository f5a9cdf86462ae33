// The Host field's value (RFC 9112 §3.2): uri-host [":" port], as RFC 3986 §3.2.2 writes them.
// A request with any other value is refused with 400 (RFC 9112 §3.2 says a server must).
#pragma once

#include <string_view>

namespace llmgw::server {

// A reg-name (letters, digits, "-._~", sub-delims "!$&'()*+,;=", %XX escapes; an IPv4 address is
// one too), or an IP literal in brackets (an IPv6 address, or IPvFuture "v1.x"), then optionally
// ":" and digits. Empty is valid: a client whose target has no authority sends an empty Host.
// Never valid: spaces, "/", "@", "?", "#", "<", a second ":", an IPv6 address without brackets.
bool is_valid_host(std::string_view value);

}  // namespace llmgw::server
