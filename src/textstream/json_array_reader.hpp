// An incremental reader of one top-level JSON array, as Gemini's streamGenerateContent sends
// it without alt=sse: bytes go in as they arrive, split at any byte, and the text of each
// element comes out once its last byte came (its closing brace for an object). Strings and
// their escapes are followed, so a bracket inside one counts for nothing; the elements
// themselves are left for a JSON parser. An element longer than the bound is not kept: it
// comes out as an over-long one without its text, and the elements after it are read as
// usual.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace llmgw::textstream {

struct JsonElement {
    std::string text;       // the element's bytes as they came, whitespace around it excluded
    bool overlong = false;  // it passed the bound: text is empty
};

class JsonArrayReader {
  public:
    enum class Shape {
        undecided,  // only whitespace so far
        array,      // the first byte that is not whitespace is '['
        other,      // it is not: this reader takes no further part
    };

    explicit JsonArrayReader(std::size_t max_element) : max_element_(max_element) {}

    // Reads `bytes` and appends each element completed by them to `elements`. Returns false
    // when an element passed the bound in these bytes (the bytes from the one after the
    // previous element, or after '[', on): it is appended at once as an over-long one, the
    // rest of it is skipped, and take_unparsed() holds the raw bytes from that first byte to
    // the end of `bytes`.
    bool feed(std::string_view bytes, std::vector<JsonElement>& elements);

    Shape shape() const { return shape_; }
    bool closed() const { return state_ == State::closed; }  // the closing ']' came
    // A byte no JSON array has in its place (a missing comma, a comma before ']'): nothing
    // after it is read.
    bool malformed() const { return state_ == State::malformed; }
    bool trailing_bytes() const { return trailing_bytes_; }  // bytes past ']', not whitespace
    bool overflowed() const { return overflowed_; }
    std::string take_unparsed() { return std::move(unparsed_); }

  private:
    enum class State { before, first_value, value, in_value, after_value, closed, malformed };
    enum class Kind { container, string, scalar };

    // The byte that starts `rest`.
    void take(std::string_view rest, bool& first_overflow, std::vector<JsonElement>& elements);
    // Counts the byte that starts `rest` towards the bound, and keeps it unless dropping.
    void store(std::string_view rest, bool& first_overflow, std::vector<JsonElement>& elements);
    void start_value(char c);
    // Whether the container or string in progress ends with `c`.
    bool ends_with_byte(char c);
    // The element in progress ended at the end of pending_.
    void complete(std::vector<JsonElement>& elements);

    std::size_t max_element_;
    Shape shape_ = Shape::undecided;
    State state_ = State::before;
    Kind kind_ = Kind::scalar;
    std::size_t depth_ = 0;        // containers open in the element in progress
    bool in_string_ = false;       // inside a string of the element in progress
    bool escaped_ = false;         // the last byte was the backslash of an escape
    std::string pending_;          // bytes since the previous element (or '['), as they came
    std::size_t value_start_ = 0;  // where the element in progress starts in pending_
    bool dropping_ = false;        // passed the bound: bytes are not kept until an element ends
    bool trailing_bytes_ = false;
    bool overflowed_ = false;
    std::string unparsed_;
};

}  // namespace llmgw::textstream
