// peek_json_stream_flag: a validating JSON scanner that looks only for the top-level "stream"
// member. It never allocates and never recurses (nesting is tracked in a 64-bit stack), so
// it is linear in the body size and safe on hostile input; nesting deeper than 64 is
// treated as invalid rather than risking anything.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "routing/router.hpp"
#include "util/strings.hpp"

namespace llmgw::routing {
namespace {

constexpr int kMaxDepth = 64;
constexpr std::string_view kStreamKey = "stream";

// Bytes that end the plain run of a string: the quote, a backslash, control characters.
constexpr auto kStringStop = [] {
    std::array<bool, 256> stop{};
    for (int c = 0; c < 0x20; ++c) stop[static_cast<std::size_t>(c)] = true;
    stop['"'] = true;
    stop['\\'] = true;
    return stop;
}();

class Scanner {
  public:
    explicit Scanner(std::string_view text) : s_(text) {}

    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    void advance() { ++i_; }

    void skip_whitespace() {
        while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
            ++i_;
        }
    }

    // At the opening quote. Sets `equals_stream` to whether the decoded text is "stream".
    bool string(bool& equals_stream) {
        ++i_;
        // Fast path: a string without escapes, the usual case, compared as a whole.
        const std::size_t start = i_;
        std::size_t j = i_;
        const std::size_t n = s_.size();
        const char* p = s_.data();
        while (j < n && !kStringStop[static_cast<unsigned char>(p[j])]) ++j;
        if (j < s_.size() && s_[j] == '"') {
            equals_stream = s_.substr(start, j - start) == kStreamKey;
            i_ = j + 1;
            return true;
        }
        // Escapes (or an error): decode one character at a time from the start.
        std::size_t matched = 0;  // decoded characters that agree with "stream" so far
        bool mismatch = false;
        const auto feed = [&](std::uint32_t code_point) {
            if (mismatch) return;
            if (matched < kStreamKey.size() &&
                code_point == static_cast<unsigned char>(kStreamKey[matched])) {
                ++matched;
            } else {
                mismatch = true;
            }
        };
        while (!at_end()) {
            const auto c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') {
                equals_stream = !mismatch && matched == kStreamKey.size();
                return true;
            }
            if (c < 0x20) return false;
            if (c != '\\') {
                feed(c);
                continue;
            }
            if (at_end()) return false;
            const char e = s_[i_++];
            switch (e) {
                case '"':
                case '\\':
                case '/':
                    feed(static_cast<unsigned char>(e));
                    break;
                case 'b':
                    feed('\b');
                    break;
                case 'f':
                    feed('\f');
                    break;
                case 'n':
                    feed('\n');
                    break;
                case 'r':
                    feed('\r');
                    break;
                case 't':
                    feed('\t');
                    break;
                case 'u': {
                    std::uint32_t code_point = 0;
                    for (int k = 0; k < 4; ++k) {
                        if (at_end()) return false;
                        const int h = str::hex_value(s_[i_++]);
                        if (h < 0) return false;
                        code_point = code_point * 16 + static_cast<std::uint32_t>(h);
                    }
                    feed(code_point);
                    break;
                }
                default:
                    return false;
            }
        }
        return false;  // unterminated
    }

    // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    bool number() {
        if (!at_end() && peek() == '-') ++i_;
        if (at_end() || !is_digit(peek())) return false;
        if (peek() == '0') {
            ++i_;
        } else {
            skip_digits();
        }
        if (!at_end() && peek() == '.') {
            ++i_;
            if (at_end() || !is_digit(peek())) return false;
            skip_digits();
        }
        if (!at_end() && (peek() == 'e' || peek() == 'E')) {
            ++i_;
            if (!at_end() && (peek() == '+' || peek() == '-')) ++i_;
            if (at_end() || !is_digit(peek())) return false;
            skip_digits();
        }
        return true;
    }

    bool literal(std::string_view word) {
        if (s_.substr(i_, word.size()) != word) return false;
        i_ += word.size();
        return true;
    }

  private:
    static bool is_digit(char c) { return c >= '0' && c <= '9'; }
    void skip_digits() {
        while (!at_end() && is_digit(peek())) ++i_;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// Containers open at each depth: bit d set = array at depth d (0 = the top-level object).
class ContainerStack {
  public:
    bool push(bool is_array) {
        if (depth_ >= kMaxDepth) return false;
        const std::uint64_t bit = std::uint64_t{1} << depth_;
        arrays_ = is_array ? (arrays_ | bit) : (arrays_ & ~bit);
        ++depth_;
        return true;
    }
    void pop() { --depth_; }
    int depth() const { return depth_; }
    bool top_is_array() const { return (arrays_ >> (depth_ - 1)) & 1u; }

  private:
    std::uint64_t arrays_ = 0;
    int depth_ = 0;
};

// A scalar value; sets `is_true` when it was the literal true.
bool scan_scalar(Scanner& scanner, bool& is_true) {
    is_true = false;
    bool ignored = false;
    switch (scanner.peek()) {
        case '"':
            return scanner.string(ignored);
        case 't':
            is_true = scanner.literal("true");
            return is_true;
        case 'f':
            return scanner.literal("false");
        case 'n':
            return scanner.literal("null");
        default:
            return scanner.number();
    }
}

// Walks the document one token at a time; every successful step consumes at least one
// byte, so the walk is linear.
class StreamFlagWalker {
  public:
    explicit StreamFlagWalker(std::string_view body) : scanner_(body) {}

    JsonStreamFlag run() {
        scanner_.skip_whitespace();
        if (scanner_.at_end() || scanner_.peek() != '{') return JsonStreamFlag::invalid_json;
        scanner_.advance();
        stack_.push(false);
        expect_ = Expect::first_key_or_close;
        while (stack_.depth() > 0) {
            scanner_.skip_whitespace();
            if (scanner_.at_end() || !step(scanner_.peek())) return JsonStreamFlag::invalid_json;
        }
        scanner_.skip_whitespace();
        return scanner_.at_end() ? result_ : JsonStreamFlag::invalid_json;
    }

  private:
    enum class Expect {
        first_key_or_close,
        key,
        colon,
        first_value_or_close,
        value,
        comma_or_close
    };

    bool step(char c) {
        switch (expect_) {
            case Expect::first_key_or_close:
                if (c == '}') return close();
                return key(c);
            case Expect::key:
                return key(c);
            case Expect::colon:
                if (c != ':') return false;
                scanner_.advance();
                expect_ = Expect::value;
                return true;
            case Expect::first_value_or_close:
                if (c == ']') return close();
                return value(c);
            case Expect::value:
                return value(c);
            case Expect::comma_or_close:
                return comma_or_close(c);
        }
        return false;
    }

    bool key(char c) {
        bool is_stream = false;
        if (c != '"' || !scanner_.string(is_stream)) return false;
        value_is_top_level_stream_ = is_stream && stack_.depth() == 1;
        expect_ = Expect::colon;
        return true;
    }

    bool value(char c) {
        bool is_true = false;
        if (c == '{' || c == '[') {
            if (!stack_.push(c == '[')) return false;
            scanner_.advance();
            expect_ = c == '{' ? Expect::first_key_or_close : Expect::first_value_or_close;
        } else if (scan_scalar(scanner_, is_true)) {
            expect_ = Expect::comma_or_close;
        } else {
            return false;
        }
        // A repeated key: the last one wins, as in the JSON parsers upstream APIs use.
        if (value_is_top_level_stream_) {
            result_ = is_true ? JsonStreamFlag::is_true : JsonStreamFlag::other;
            value_is_top_level_stream_ = false;
        }
        return true;
    }

    bool comma_or_close(char c) {
        if (c == ',') {
            scanner_.advance();
            expect_ = stack_.top_is_array() ? Expect::value : Expect::key;
            return true;
        }
        if (c != (stack_.top_is_array() ? ']' : '}')) return false;
        return close();
    }

    // The matching bracket is under the cursor.
    bool close() {
        scanner_.advance();
        stack_.pop();
        expect_ = Expect::comma_or_close;
        return true;
    }

    Scanner scanner_;
    ContainerStack stack_;
    Expect expect_ = Expect::first_key_or_close;
    JsonStreamFlag result_ = JsonStreamFlag::absent;
    bool value_is_top_level_stream_ = false;  // the value about to be read belongs to "stream"
};

}  // namespace

JsonStreamFlag peek_json_stream_flag(std::string_view body) { return StreamFlagWalker(body).run(); }

}  // namespace llmgw::routing
