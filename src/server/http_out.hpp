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
//
// The buffer is grown by a block at a time and the fields written into the room at the end of
// it; finish() (or the destructor, should a throw come first) cuts it back to what was written.
// The buffer is not to be read until then, and is the caller's again after it.
class HeadWriter {
public:
    HeadWriter(std::string& out, int status);
    ~HeadWriter() {
        if (!finished_) out_.resize(end_);
    }
    HeadWriter(const HeadWriter&) = delete;
    HeadWriter& operator=(const HeadWriter&) = delete;

    // A field from elsewhere (the upstream, the client, the configuration): its value checked.
    void add(std::string_view name, std::string_view value);
    void add(const HeaderField& field) { add(field.name, field.value); }
    // A field the gateway makes: a constant name and a value it made or checked itself (a
    // request id, digits, a fixed word). Not checked again.
    void add_own(std::string_view name, std::string_view value);
    void add_decimal(std::string_view name, std::uint64_t value);
    void finish();

private:
    char* room(std::size_t n);  // n bytes at the end of what is written; end_ moves past them
    static constexpr std::size_t kFirstRoom = 512;

    std::string& out_;
    std::size_t end_;  // where what is written ends; out_ is longer until finish()
    bool finished_ = false;  // then out_ is the caller's again
};

// One chunk of a chunked body ("1a\r\n…\r\n"); empty data writes nothing.
void append_chunk(std::string& out, std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace llmgw::server
