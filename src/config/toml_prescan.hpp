// Checks run on TOML text before toml++ sees it. TOML allows non-ASCII characters only in
// strings and comments; such a character elsewhere (e.g. `[services.opénai]`) is refused here
// with its line and column. It was first added because toml++ 3.3.0 reached
// __builtin_unreachable on some of them (found by fuzzing); config/tomlpp.hpp now removes that
// undefined behaviour wherever it is reached, inside strings too. A dotted key of very many
// parts (`a.a.a…`) makes a table as deep, which toml++ 3.3.0 walks and destroys by recursion,
// with no limit of its own: a line of 3,000,000 parts (6 MB) overflowed the stack.
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

// No table of ours is nested half as deep.
constexpr int kMaxKeyParts = 64;

// Where the first key (a table header's, or one before `=`, inline tables included) reaches
// its (kMaxKeyParts + 1)th part, if any.
std::optional<TextPosition> key_with_too_many_parts(std::string_view text);

}  // namespace llmgw::config
