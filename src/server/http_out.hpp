// Bytes the gateway writes to clients: HTTP/1.1 status line + header block, and chunk framing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/headers.hpp"

namespace llmgw::server {

std::string_view reason_phrase(int status);

// Writes a response head straight into the output buffer: "HTTP/1.1 200 OK\r\n" at once, each
// field as it is added, then the blank line at finish(). A value with CR, LF or NUL would break
// its line, so that field is left out, never sent.
class HeadWriter {
public:
    HeadWriter(std::string& out, int status);
    void add(std::string_view name, std::string_view value);
    void add(const HeaderField& field) { add(field.name, field.value); }
    void add_decimal(std::string_view name, std::uint64_t value);
    void finish() { out_ += "\r\n"; }

private:
    std::string& out_;
};

// One chunk of a chunked body ("1a\r\n…\r\n"); empty data writes nothing.
void append_chunk(std::string& out, std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace llmgw::server
