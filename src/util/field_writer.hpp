// Writing "name: value\r\n" into room already made, for both HTTP/1.1 serializers (the
// client's response head, the upstream request head): two copies and four stores per field.
// Appending would check the room for each piece and copy the two-byte separators with a call.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace llmgw {

inline char* put_bytes(char* at, std::string_view piece) {
    if (!piece.empty()) std::memcpy(at, piece.data(), piece.size());  // an empty view may be null
    return at + piece.size();
}

constexpr std::size_t field_size(std::string_view name, std::string_view value) {
    return name.size() + value.size() + 4;
}

// Writes field_size(name, value) bytes at `at`; returns the end of them.
inline char* put_field(char* at, std::string_view name, std::string_view value) {
    at = put_bytes(at, name);
    *at++ = ':';
    *at++ = ' ';
    at = put_bytes(at, value);
    *at++ = '\r';
    *at++ = '\n';
    return at;
}

}  // namespace llmgw
