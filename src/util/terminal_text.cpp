#include "util/terminal_text.hpp"

#include <cstddef>

namespace llmgw {

namespace {

// The length of the well-formed UTF-8 sequence at the start of `s` (2 to 4), or 0 for a byte
// that starts none (RFC 3629 §4: no overlong form, no surrogate, nothing past U+10FFFF).
std::size_t utf8_sequence(std::string_view s) {
    const auto at = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = at(0);
    std::size_t n = 0;
    unsigned char low = 0x80;  // the second byte's range
    unsigned char high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        n = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        n = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        n = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    }
    if (n == 0 || s.size() < n || at(1) < low || at(1) > high) return 0;
    for (std::size_t i = 2; i < n; ++i) {
        if (at(i) < 0x80 || at(i) > 0xBF) return 0;
    }
    return n;
}

}  // namespace

std::string safe_line(std::string_view text) {
    std::string safe;
    safe.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7F) {
                safe += "\xEF\xBF\xBD";
            } else {
                safe += text[i];
            }
            ++i;
            continue;
        }
        const std::size_t n = utf8_sequence(text.substr(i));
        const bool c1 = n == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) <= 0x9F;
        if (n == 0 || c1) {
            safe += "\xEF\xBF\xBD";  // a bare byte (0x9B is CSI to some terminals) or a C1
            i += n == 0 ? 1 : n;
            continue;
        }
        safe.append(text.substr(i, n));
        i += n;
    }
    return safe;
}

std::string without_controls(std::string_view bytes) {
    std::string safe;
    safe.reserve(bytes.size());
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        const bool c1 = c == 0xC2 && i + 1 < bytes.size() &&
                        static_cast<unsigned char>(bytes[i + 1]) >= 0x80 &&
                        static_cast<unsigned char>(bytes[i + 1]) <= 0x9F;
        const bool kept = c == '\t' || c == '\n';
        if ((c < 0x20 && !kept) || c == 0x7F || c1) {
            safe += "\xEF\xBF\xBD";
            if (c1) ++i;
        } else {
            safe += bytes[i];
        }
    }
    return safe;
}

}  // namespace llmgw
