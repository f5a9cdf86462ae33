// A check run on TOML text before toml++ sees it. TOML allows non-ASCII characters only in
// strings and comments, and toml++ 3.3.0 (Debian 12) reaches __builtin_unreachable -
// undefined behaviour - on some of them elsewhere (U+00A1..U+0499 and U+2D6E..U+3167 while
// reading a bare key, e.g. `[services.opénai]`; found by fuzzing). Such text is refused first.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace llmgw::config {

struct TextPosition {
    std::size_t line = 1;    // 1-based
    std::size_t column = 1;  // 1-based, in bytes
};

// Where the first byte >= 0x80 outside a string or a comment is, if any.
std::optional<TextPosition> non_ascii_outside_strings(std::string_view text);

}  // namespace llmgw::config
