#include "config/toml_prescan.hpp"

#include <vector>

namespace llmgw::config {

namespace {

class Scan {
public:
    enum class Find { non_ascii, deep_key };
    Scan(std::string_view text, Find find) : s_(text), find_(find) {}

    std::optional<TextPosition> run() {
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == '#') {
                skip_line();
            } else if (c == '"' || c == '\'') {
                skip_string(c);
            } else if (find_ == Find::non_ascii && static_cast<unsigned char>(c) >= 0x80) {
                return position();
            } else if (find_ == Find::deep_key && c == '.' && in_key_ && ++dots_ >= kMaxKeyParts) {
                return position();
            } else {
                if (find_ == Find::deep_key) follow_structure(c);
                advance();
            }
        }
        return std::nullopt;
    }

private:
    // Whether the scan is in a key: at a line's start outside any value, a table header
    // included, and after `{` or `,` in an inline table; a value starts at `=`.
    void follow_structure(char c) {
        switch (c) {
            case '=':
                in_key_ = false;
                break;
            case '\n':
                if (nest_.empty()) start_key();
                break;
            case '{':
                nest_.push_back('{');
                start_key();
                break;
            case '[':
                if (!in_key_) nest_.push_back('[');  // an array; in a key, a table header
                break;
            case '}':  // an inline table ends, empty ({}) or after a value
                if (!nest_.empty()) nest_.pop_back();
                in_key_ = false;
                break;
            case ']':  // an array ends; in a key, a table header's bracket
                if (!in_key_ && !nest_.empty()) nest_.pop_back();
                break;
            case ',':
                if (!nest_.empty() && nest_.back() == '{') start_key();
                break;
            default:
                break;
        }
    }

    void start_key() {
        in_key_ = true;
        dots_ = 0;
    }

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
    Find find_;
    std::vector<char> nest_;  // open inline tables and arrays of the value being read
    bool in_key_ = true;
    int dots_ = 0;  // in the current key
    std::size_t i_ = 0;
    std::size_t line_ = 1;
    std::size_t line_start_ = 0;
};

}  // namespace

std::optional<TextPosition> non_ascii_outside_strings(std::string_view text) {
    return Scan(text, Scan::Find::non_ascii).run();
}

std::optional<TextPosition> key_with_too_many_parts(std::string_view text) {
    return Scan(text, Scan::Find::deep_key).run();
}

}  // namespace llmgw::config
