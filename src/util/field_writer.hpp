// Writing bytes, and "name: value\r\n", into room already made: for both HTTP/1.1 serializers
// (the client's response head, the upstream request head), two copies and four stores per
// field, and for Headers. Appending would check the room for each piece and copy the two-byte
// separators with a call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace llmgw {

// Copies n bytes between buffers that do not overlap. Header names and values are mostly under
// 32 bytes: those are copied with a few fixed-size moves (each one load and one store), whose
// first and last overlap as needed, rather than a call to memcpy for each.
inline void copy_bytes(char* to, const char* from, std::size_t n) {
    const auto move8 = [](char* d, const char* s) {
        std::uint64_t v;
        std::memcpy(&v, s, 8);
        std::memcpy(d, &v, 8);
    };
    if (n >= 8 && n <= 16) {
        move8(to, from);
        move8(to + n - 8, from + n - 8);
    } else if (n > 16 && n <= 32) {
        move8(to, from);
        move8(to + 8, from + 8);
        move8(to + n - 16, from + n - 16);
        move8(to + n - 8, from + n - 8);
    } else if (n >= 4 && n < 8) {
        std::uint32_t a;
        std::uint32_t b;
        std::memcpy(&a, from, 4);
        std::memcpy(&b, from + n - 4, 4);
        std::memcpy(to, &a, 4);
        std::memcpy(to + n - 4, &b, 4);
    } else if (n > 0 && n < 4) {
        to[0] = from[0];
        to[n / 2] = from[n / 2];
        to[n - 1] = from[n - 1];
    } else if (n > 32) {
        std::memcpy(to, from, n);
    }
}

inline char* put_bytes(char* at, std::string_view piece) {
    copy_bytes(at, piece.data(), piece.size());  // nothing read from an empty (maybe null) view
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
