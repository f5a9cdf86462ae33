#include "textstream/json_array_reader.hpp"

namespace llmgw::textstream {

namespace {

// JSON's whitespace (RFC 8259 §2).
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

bool JsonArrayReader::feed(std::string_view bytes, std::vector<JsonElement>& elements) {
    bool first_overflow = true;  // no element passed the bound in this call yet
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (shape_ == Shape::other || state_ == State::malformed) break;
        take(bytes.substr(i), first_overflow, elements);
    }
    return first_overflow;
}

void JsonArrayReader::take(std::string_view rest, bool& first_overflow,
                           std::vector<JsonElement>& elements) {
    const char c = rest.front();
    if (state_ == State::before) {
        if (is_space(c)) return;
        if (c != '[') {
            shape_ = Shape::other;
            return;
        }
        shape_ = Shape::array;
        state_ = State::first_value;
        return;
    }
    if (state_ == State::closed) {
        if (!is_space(c)) trailing_bytes_ = true;
        return;
    }
    // A number or a literal ends at the byte after it, which then counts for what follows.
    if (state_ == State::in_value && kind_ == Kind::scalar &&
        (is_space(c) || c == ',' || c == ']')) {
        complete(elements);
    }
    store(rest, first_overflow, elements);
    switch (state_) {
        case State::first_value:
        case State::value:
            if (is_space(c)) return;
            if (c == ']' && state_ == State::first_value) {
                state_ = State::closed;
                pending_.clear();
            } else if (c == ']' || c == ',') {
                state_ = State::malformed;
            } else {
                start_value(c);
            }
            return;
        case State::after_value:
            if (c == ',') {
                state_ = State::value;
            } else if (c == ']') {
                state_ = State::closed;
                pending_.clear();
            } else if (!is_space(c)) {
                state_ = State::malformed;
            }
            return;
        case State::in_value:
            if (kind_ != Kind::scalar && ends_with_byte(c)) complete(elements);
            return;
        case State::before:
        case State::closed:
        case State::malformed:
            return;
    }
}

void JsonArrayReader::store(std::string_view rest, bool& first_overflow,
                            std::vector<JsonElement>& elements) {
    if (dropping_) return;
    if (pending_.size() < max_element_) {
        pending_ += rest.front();
        return;
    }
    overflowed_ = true;
    if (first_overflow) {
        first_overflow = false;
        unparsed_ = std::move(pending_);
        unparsed_.append(rest);
    }
    // Delivered now, so that it comes in order with the elements before it and after it.
    elements.push_back(JsonElement{{}, true});
    pending_.clear();
    dropping_ = true;
}

void JsonArrayReader::start_value(char c) {
    state_ = State::in_value;
    value_start_ = dropping_ ? 0 : pending_.size() - 1;
    depth_ = 0;
    in_string_ = false;
    escaped_ = false;
    if (c == '{' || c == '[') {
        kind_ = Kind::container;
        depth_ = 1;
    } else if (c == '"') {
        kind_ = Kind::string;
        in_string_ = true;
    } else {
        kind_ = Kind::scalar;
    }
}

bool JsonArrayReader::ends_with_byte(char c) {
    if (in_string_) {
        if (escaped_) {
            escaped_ = false;
        } else if (c == '\\') {
            escaped_ = true;
        } else if (c == '"') {
            in_string_ = false;
            return kind_ == Kind::string;
        }
        return false;
    }
    if (c == '"') {
        in_string_ = true;
    } else if (c == '{' || c == '[') {
        ++depth_;
    } else if (c == '}' || c == ']') {
        return --depth_ == 0;
    }
    return false;
}

void JsonArrayReader::complete(std::vector<JsonElement>& elements) {
    state_ = State::after_value;
    if (dropping_) {
        dropping_ = false;  // the element that passed the bound (or the one after it) ended
    } else {
        elements.push_back(JsonElement{pending_.substr(value_start_), false});
    }
    pending_.clear();
}

}  // namespace llmgw::textstream
