// Small string helpers shared by every layer. All take string_view and never allocate
// unless they return a std::string.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmgw::str {

char ascii_lower(char c);
std::string to_lower(std::string_view s);
std::string to_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
bool icontains(std::string_view haystack, std::string_view needle);
std::string_view trim(std::string_view s);
std::vector<std::string_view> split(std::string_view s, char sep);

// Whole-string unsigned decimal; nullopt on anything else (sign, spaces, overflow).
std::optional<std::uint64_t> parse_u64(std::string_view s);
// true/false/1/0/yes/no/on/off, case-insensitive.
std::optional<bool> parse_bool(std::string_view s);

// Value of a hex digit, or -1.
int hex_value(char c);
// Percent-decodes; nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view s);

// "1.50MB"-style size, two decimals, MiB based (as the routing reason text shows).
std::string format_megabytes(std::uint64_t bytes);

}  // namespace llmgw::str
