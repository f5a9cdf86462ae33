// peek_json_stream_flag: a validating JSON scanner that looks only for the top-level "stream"
// member. It never allocates and never recurses (nesting is tracked in a fixed stack of bits),
// so it is linear in the body size and safe on hostile input; nesting deeper than 1,024 (as
// deep as common JSON parsers take, Python's among them) is treated as invalid. The bytes inside
// strings are not checked as UTF-8: that is the upstream's to judge.
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "routing/router.hpp"
#include "util/strings.hpp"
#include "util/swar.hpp"

namespace llmgw::routing {
namespace {

constexpr int kMaxDepth = 1024;
constexpr std::string_view kStreamKey = "stream";

// Bytes that end the plain run of a string: the quote, a backslash, control characters.
constexpr auto kStringStop = [] {
    std::array<bool, 256> stop{};
    for (int c = 0; c < 0x20; ++c) stop[static_cast<std::size_t>(c)] = true;
    stop['"'] = true;
    stop['\\'] = true;
    return stop;
}();

// Plain string runs (most of a chat body) are scanned eight bytes at a time in a uint64_t
// ("SWAR"). Byte k of memory is bits 8k..8k+7 of the word, so the first stop in memory is the
// lowest flagged byte.
using swar::kEveryByte;
using swar::kHighBits;
using swar::kWordBytes;
using swar::load_little_endian;

// Flags (in the high bit) each byte of `word` that kStringStop marks. Only the lowest flag is
// exact, and it is all callers use: each difference is the usual "bytes below k" test, where
// bytes before the first hit subtract without a borrow, while bytes after it may be flagged
// spuriously by its borrow. One `& ~word` serves all three tests: it drops bytes >= 0x80,
// whose difference can have the high bit set, and as '"' and '\\' are below 0x80, the XORs
// leave each byte's high bit as it was.
constexpr std::uint64_t string_stops(std::uint64_t word) {
    const std::uint64_t quote_diff = (word ^ (kEveryByte * '"')) - kEveryByte;
    const std::uint64_t backslash_diff = (word ^ (kEveryByte * '\\')) - kEveryByte;
    const std::uint64_t control_diff = word - kEveryByte * 0x20;
    return (quote_diff | backslash_diff | control_diff) & ~word & kHighBits;
}

// Whether a plain run (no escapes) spells the key; only a six-byte run needs comparing.
bool is_stream_key(const char* run, std::size_t size) {
    return size == kStreamKey.size() && std::memcmp(run, kStreamKey.data(), size) == 0;
}

// Tracks, a piece at a time, whether a string's decoded text is exactly "stream".
class StreamKeyMatcher {
  public:
    // Raw bytes that need no decoding (a plain run). Compared to the rest of "stream" as a
    // whole; anything that cannot fit settles the answer without looking at the bytes.
    void feed_run(std::string_view run) {
        if (mismatch_ || run.empty()) return;
        if (run.size() > kStreamKey.size() - matched_ ||
            run != kStreamKey.substr(matched_, run.size())) {
            mismatch_ = true;
            return;
        }
        matched_ += run.size();
    }

    // One decoded character (a byte, or the code point of a \u escape).
    void feed(std::uint32_t code_point) {
        if (mismatch_) return;
        if (matched_ < kStreamKey.size() &&
            code_point == static_cast<unsigned char>(kStreamKey[matched_])) {
            ++matched_;
        } else {
            mismatch_ = true;
        }
    }

    bool matches() const { return !mismatch_ && matched_ == kStreamKey.size(); }

  private:
    std::size_t matched_ = 0;  // decoded characters that agree with "stream" so far
    bool mismatch_ = false;
};

class Scanner {
  public:
    explicit Scanner(std::string_view text) : s_(text) {}

    bool at_end() const { return i_ >= s_.size(); }
    char peek() const { return s_[i_]; }
    void advance() { ++i_; }

    // A UTF-8 byte order mark before the text, which the reference's Request.json() (the
    // Encoding Standard's UTF-8 decode) and Python's json.loads of bytes both skip.
    void skip_byte_order_mark() {
        if (s_.substr(i_).starts_with("\xEF\xBB\xBF")) i_ += 3;
    }

    void skip_whitespace() {
        while (!at_end() && is_whitespace(peek())) ++i_;
    }

    // At the opening quote. Sets `equals_stream` to whether the decoded text is "stream".
    bool string(bool& equals_stream) {
        ++i_;
        // Fast path: a string without escapes, the usual case, compared as a whole.
        const std::size_t start = i_;
        i_ = plain_run_end(start);
        if (i_ < s_.size() && s_[i_] == '"') {
            equals_stream = is_stream_key(s_.data() + start, i_ - start);
            ++i_;
            return true;
        }
        return string_after_run(std::string_view(s_.data() + start, i_ - start), equals_stream);
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
    // One compare rejects every byte above ' ', which is nearly every byte a compact body has.
    static bool is_whitespace(char c) {
        const auto u = static_cast<unsigned char>(c);
        return u <= ' ' && (u == ' ' || u == '\t' || u == '\n' || u == '\r');
    }

    // The first index at or after `j` holding a kStringStop byte, or s_.size(): whole words
    // while eight bytes remain (no per-byte bounds checks), then byte by byte.
    std::size_t plain_run_end(std::size_t j) const {
        const char* p = s_.data();
        const std::size_t n = s_.size();
        if (n >= kWordBytes) {
            const std::size_t last_word = n - kWordBytes;
            for (; j <= last_word; j += kWordBytes) {
                const std::uint64_t stops = string_stops(load_little_endian(p + j));
                if (stops != 0) return j + static_cast<std::size_t>(std::countr_zero(stops)) / 8;
            }
        }
        while (j < n && !kStringStop[static_cast<unsigned char>(p[j])]) ++j;
        return j;
    }

    // The slow path of string(), at the byte that ended the plain run `first_run` (or at the
    // end): alternates escapes with further plain runs, so escapes cost extra only where they
    // are, not for the whole string.
    bool string_after_run(std::string_view first_run, bool& equals_stream) {
        StreamKeyMatcher key;
        key.feed_run(first_run);
        for (;;) {
            if (at_end()) return false;  // unterminated
            const auto c = static_cast<unsigned char>(s_[i_++]);
            if (c == '"') {
                equals_stream = key.matches();
                return true;
            }
            // Otherwise a raw control character (invalid) or the backslash of an escape.
            if (c != '\\' || !escape(key)) return false;
            const std::size_t run_start = i_;
            i_ = plain_run_end(run_start);
            key.feed_run(std::string_view(s_.data() + run_start, i_ - run_start));
        }
    }

    // Just past a backslash: decodes one escape into `key`.
    bool escape(StreamKeyMatcher& key) {
        if (at_end()) return false;
        const char e = s_[i_++];
        switch (e) {
            case '"':
            case '\\':
            case '/':
                key.feed(static_cast<unsigned char>(e));
                return true;
            case 'b':
                key.feed('\b');
                return true;
            case 'f':
                key.feed('\f');
                return true;
            case 'n':
                key.feed('\n');
                return true;
            case 'r':
                key.feed('\r');
                return true;
            case 't':
                key.feed('\t');
                return true;
            case 'u':
                return unicode_escape(key);
            default:
                return false;
        }
    }

    // Just past "\u": four hex digits.
    bool unicode_escape(StreamKeyMatcher& key) {
        std::uint32_t code_point = 0;
        for (int k = 0; k < 4; ++k) {
            if (at_end()) return false;
            const int h = str::hex_value(s_[i_++]);
            if (h < 0) return false;
            code_point = code_point * 16 + static_cast<std::uint32_t>(h);
        }
        key.feed(code_point);
        return true;
    }
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
        std::uint64_t& word = arrays_[static_cast<std::size_t>(depth_ / 64)];
        const std::uint64_t bit = std::uint64_t{1} << (depth_ % 64);
        word = is_array ? (word | bit) : (word & ~bit);
        ++depth_;
        return true;
    }
    void pop() { --depth_; }
    int depth() const { return depth_; }
    bool top_is_array() const {
        const int d = depth_ - 1;
        return (arrays_[static_cast<std::size_t>(d / 64)] >> (d % 64)) & 1u;
    }

  private:
    std::array<std::uint64_t, kMaxDepth / 64> arrays_{};
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
        scanner_.skip_byte_order_mark();
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
