#include "config/toml_prescan.hpp"

namespace llmgw::config {

namespace {

class Scan {
public:
    explicit Scan(std::string_view text) : s_(text) {}

    std::optional<TextPosition> run() {
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == '#') {
                skip_line();
            } else if (c == '"' || c == '\'') {
                skip_string(c);
            } else if (static_cast<unsigned char>(c) >= 0x80) {
                return position();
            } else {
                advance();
            }
        }
        return std::nullopt;
    }

private:
    bool at(std::string_view word) const { return s_.substr(i_, word.size()) == word; }

    void advance() {
        if (s_[i_] == '\n') {
            ++line_;
            line_start_ = i_ + 1;
        }
        ++i_;
    }

    void skip_line() {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
    }

    // At the opening quote: skips the whole string; an unterminated one ends at its line's
    // end (single-line) or at the end of the text (multi-line): toml++ reports those.
    void skip_string(char quote) {
        const bool basic = quote == '"';
        const std::string_view triple = basic ? "\"\"\"" : "'''";
        if (at(triple)) {
            i_ += 3;
            while (i_ < s_.size()) {
                if (basic && s_[i_] == '\\') {
                    advance();
                    if (i_ < s_.size()) advance();
                } else if (at(triple)) {
                    i_ += 3;
                    // Up to two quotes may stand right before the closing delimiter.
                    for (int k = 0; k < 2 && i_ < s_.size() && s_[i_] == quote; ++k) ++i_;
                    return;
                } else {
                    advance();
                }
            }
            return;
        }
        ++i_;
        while (i_ < s_.size() && s_[i_] != '\n') {
            const char c = s_[i_++];
            if (c == quote) return;
            if (basic && c == '\\' && i_ < s_.size() && s_[i_] != '\n') ++i_;
        }
    }

    TextPosition position() const { return {line_, i_ - line_start_ + 1}; }

    std::string_view s_;
    std::size_t i_ = 0;
    std::size_t line_ = 1;
    std::size_t line_start_ = 0;
};

}  // namespace

std::optional<TextPosition> non_ascii_outside_strings(std::string_view text) { return Scan(text).run(); }

}  // namespace llmgw::config
