#include "util/terminal_text.hpp"

#include <cstddef>

#include "util/strings.hpp"

namespace llmgw {

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
        const std::size_t n = str::utf8_sequence(text.substr(i));
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
