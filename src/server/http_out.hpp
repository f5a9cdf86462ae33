// Bytes the gateway writes to clients: HTTP/1.1 status line + header block, and chunk framing.
#pragma once

#include <string>
#include <string_view>

#include "util/headers.hpp"

namespace llmgw::server {

std::string_view reason_phrase(int status);
// "HTTP/1.1 200 OK\r\n" + fields + "\r\n"; field values with CR or LF are dropped.
void append_head(std::string& out, int status, const Headers& headers);
// One chunk of a chunked body ("1a\r\n…\r\n"); empty data writes nothing.
void append_chunk(std::string& out, std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace llmgw::server
