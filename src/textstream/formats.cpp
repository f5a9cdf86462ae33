#include "textstream/formats.hpp"

#include <algorithm>
#include <array>

#include "util/strings.hpp"

namespace llmgw::textstream {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 8> kAnthropicTypes{
    "message_start",       "message_delta",      "message_stop", "content_block_start",
    "content_block_delta", "content_block_stop", "ping",         "message"};

// The string member `key` of an object, or empty.
std::string_view string_at(const json& value, const char* key) {
    if (!value.is_object()) return {};
    const auto it = value.find(key);
    if (it == value.end() || !it->is_string()) return {};
    return it->get_ref<const std::string&>();
}

const json* member(const json& value, const char* key) {
    if (!value.is_object()) return nullptr;
    const auto it = value.find(key);
    return it == value.end() ? nullptr : &*it;
}

const json* array_at(const json& value, const char* key) {
    const json* m = member(value, key);
    return m != nullptr && m->is_array() ? m : nullptr;
}

bool is_anthropic_type(std::string_view type) {
    for (const std::string_view t : kAnthropicTypes) {
        if (t == type) return true;
    }
    return false;
}

// The choice (or Gemini candidate) that counts: index 0, or the first one without an index.
// Another one is never taken, so that n > 1 does not mix several answers.
const json* first_choice(const json& body, const char* key = "choices") {
    const json* choices = array_at(body, key);
    if (choices == nullptr) return nullptr;
    for (const json& choice : *choices) {
        const json* index = member(choice, "index");
        if (index == nullptr || !index->is_number_integer() || index->get<long long>() == 0) {
            return &choice;
        }
    }
    return nullptr;
}

// Text of a content value that is a string or an array of {"type":"text","text":…} parts.
void append_content(std::string& out, const json& content) {
    if (content.is_string()) {
        out += content.get_ref<const std::string&>();
    } else if (content.is_array()) {
        for (const json& part : content) out += string_at(part, "text");
    }
}

// A refusal is the model's answer too: it comes instead of the content.
void append_message(std::string& out, const json& message) {
    if (const json* content = member(message, "content")) append_content(out, *content);
    out += string_at(message, "refusal");
}

std::string openai_event_text(const json& data) {
    std::string out;
    const json* choice = first_choice(data);
    if (choice == nullptr) return out;
    if (const json* delta = member(*choice, "delta")) {
        append_message(out, *delta);
    } else {
        out += string_at(*choice, "text");
    }
    return out;
}

std::string openai_response_text(const json& body) {
    std::string out;
    const json* choice = first_choice(body);
    if (choice == nullptr) return out;
    if (const json* message = member(*choice, "message")) {
        append_message(out, *message);
    } else {
        out += string_at(*choice, "text");
    }
    return out;
}

std::string responses_text(const json& body) {
    std::string out;
    const json* output = array_at(body, "output");
    if (output == nullptr) return out;
    for (const json& item : *output) {
        const json* content = array_at(item, "content");
        if (content == nullptr) continue;
        for (const json& part : *content) {
            const std::string_view type = string_at(part, "type");
            if (type == "output_text") out += string_at(part, "text");
            if (type == "refusal") out += string_at(part, "refusal");
        }
    }
    return out;
}

std::string anthropic_text(const json& body) {
    std::string out;
    if (const json* content = array_at(body, "content")) {
        for (const json& block : *content) {
            if (string_at(block, "type") == "text") out += string_at(block, "text");
        }
    }
    return out;
}

// Parts of the first candidate; thought summaries (thought: true) are not the answer.
std::string gemini_text(const json& body) {
    std::string out;
    const json* candidate = first_choice(body, "candidates");
    if (candidate == nullptr) return out;
    const json* content = member(*candidate, "content");
    const json* parts = content != nullptr ? array_at(*content, "parts") : nullptr;
    if (parts == nullptr) return out;
    for (const json& part : *parts) {
        const json* thought = member(part, "thought");
        if (thought != nullptr && thought->is_boolean() && thought->get<bool>()) continue;
        out += string_at(part, "text");
    }
    return out;
}

// Ollama's /api/chat and /api/generate: {"message":{"content":…},"done":…} or
// {"response":…,"done":…}, one object per line when streamed.
bool is_ollama_object(const json& value) {
    const json* done = member(value, "done");
    if (done == nullptr || !done->is_boolean()) return false;
    const json* message = member(value, "message");
    const json* content = message != nullptr ? member(*message, "content") : nullptr;
    const json* response = member(value, "response");
    return (content != nullptr && content->is_string()) ||
           (response != nullptr && response->is_string());
}

std::string ollama_text(const json& body) {
    if (const json* message = member(body, "message"))
        return std::string(string_at(*message, "content"));
    return std::string(string_at(body, "response"));
}

bool is_gemini_object(const json& value) {
    return value.is_object() && member(value, "choices") == nullptr &&
           (array_at(value, "candidates") != nullptr || member(value, "promptFeedback") != nullptr);
}

}  // namespace

std::string_view to_string(Format format) {
    switch (format) {
        case Format::openai:
            return "OpenAI chat/completions";
        case Format::responses:
            return "OpenAI Responses";
        case Format::anthropic:
            return "Anthropic Messages";
        case Format::gemini:
            return "Gemini";
        case Format::ollama:
            return "Ollama";
        case Format::unknown:
            break;
    }
    return "unknown";
}

std::string_view end_marker(Format format) {
    switch (format) {
        case Format::openai:
            return "data: [DONE]";
        case Format::responses:
            return "response.completed";
        case Format::anthropic:
            return "message_stop";
        case Format::gemini:
            return "finishReason";
        case Format::ollama:
            return "\"done\": true";
        case Format::unknown:
            break;
    }
    return {};
}

Format detect_format(const json& value) {
    if (!value.is_object()) return Format::unknown;
    const std::string_view type = string_at(value, "type");
    if (type.starts_with("response.") || string_at(value, "object") == "response") {
        return Format::responses;
    }
    if (is_anthropic_type(type)) return Format::anthropic;
    if (array_at(value, "choices") != nullptr) return Format::openai;
    if (is_gemini_object(value)) return Format::gemini;
    if (is_ollama_object(value)) return Format::ollama;
    return Format::unknown;
}

std::string event_text(Format format, std::string_view event_type, const json& data) {
    switch (format) {
        case Format::openai:
            return openai_event_text(data);
        case Format::responses: {
            std::string_view type = string_at(data, "type");
            if (type.empty()) type = event_type;
            if (type != "response.output_text.delta" && type != "response.refusal.delta") return {};
            return std::string(string_at(data, "delta"));
        }
        case Format::anthropic: {
            if (string_at(data, "type") != "content_block_delta") return {};
            const json* delta = member(data, "delta");
            return delta != nullptr ? std::string(string_at(*delta, "text")) : std::string();
        }
        case Format::gemini:
            return gemini_text(data);
        case Format::ollama:
            return ollama_text(data);
        case Format::unknown:
            break;
    }
    return {};
}

std::string response_text(Format format, const json& body) {
    switch (format) {
        case Format::openai:
            return openai_response_text(body);
        case Format::responses:
            return responses_text(body);
        case Format::anthropic:
            return anthropic_text(body);
        case Format::gemini:
            return gemini_text(body);
        case Format::ollama:
            return ollama_text(body);
        case Format::unknown:
            break;
    }
    return {};
}

bool is_done_marker(std::string_view data) { return str::trim(data) == "[DONE]"; }

bool is_end_event(Format format, std::string_view event_type, std::string_view data,
                  const json* parsed) {
    std::string_view type = event_type;
    if (parsed != nullptr) {
        if (const std::string_view t = string_at(*parsed, "type"); !t.empty()) type = t;
    }
    switch (format) {
        case Format::openai:
            return is_done_marker(data);
        case Format::responses:
            return type == "response.completed" || type == "response.incomplete" ||
                   type == "response.failed";
        case Format::anthropic:
            return type == "message_stop";
        case Format::gemini: {
            // The candidate that counts finished; a blocked prompt has none to wait for.
            if (parsed == nullptr) return false;
            const json* candidate = first_choice(*parsed, "candidates");
            return (candidate != nullptr && !string_at(*candidate, "finishReason").empty()) ||
                   blocked_prompt(*parsed).has_value();
        }
        case Format::ollama: {
            const json* done = parsed != nullptr ? member(*parsed, "done") : nullptr;
            return done != nullptr && done->is_boolean() && done->get<bool>();
        }
        case Format::unknown:
            break;
    }
    return false;
}

namespace {

// Whether arrays and objects nest more than `limit` deep anywhere in `text` (outside strings).
// One pass over the bytes: a parser callback could tell too, but nlohmann 3.11 then looks for
// discarded values in the parent at every closing brace, which is quadratic in a long array.
bool nested_deeper_than(std::string_view text, int limit) {
    int depth = 0;
    bool in_string = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;  // the escaped byte
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > limit) return true;
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return false;
}

}  // namespace

std::string with_lone_surrogates_replaced(std::string_view text) {
    const auto code_at = [text](std::size_t at) -> int {  // \uXXXX at `at`, else -1
        if (at + 6 > text.size() || text[at] != '\\' || text[at + 1] != 'u') return -1;
        int code = 0;
        for (std::size_t i = at + 2; i < at + 6; ++i) {
            const int digit = str::hex_value(text[i]);
            if (digit < 0) return -1;
            code = code * 16 + digit;
        }
        return code;
    };
    const auto is_high = [](int code) { return code >= 0xD800 && code <= 0xDBFF; };
    const auto is_low = [](int code) { return code >= 0xDC00 && code <= 0xDFFF; };
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '\\' || i + 1 >= text.size()) {
            out += text[i++];
            continue;
        }
        const int code = code_at(i);
        if (is_high(code) && is_low(code_at(i + 6))) {
            out.append(text.substr(i, 12));  // a whole pair
            i += 12;
        } else if (is_high(code) || is_low(code)) {
            out += "\\ufffd";
            i += 6;
        } else {
            out.append(text.substr(i, 2));  // any other escape, \\ included
            i += 2;
        }
    }
    return out;
}

json parse_json(std::string_view text) {
    if (nested_deeper_than(text, kMaxJsonDepth)) return json(json::value_t::discarded);
    json value = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
    if (!value.is_discarded()) return value;
    // A lone surrogate escape is JSON by RFC 8259's grammar (JavaScript's JSON.stringify writes
    // one for a string cut between the halves of a pair), and bytes that are no UTF-8 (a
    // Latin-1 é, a character cut by a server's buffer) are what a browser's decoder reads as
    // U+FFFD; nlohmann::json refuses both. The text is taken with U+FFFD for each, rather than
    // lost.
    const bool escapes = text.find("\\u") != std::string_view::npos;
    const bool past_ascii = std::any_of(
        text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    if (!escapes && !past_ascii) return value;  // plain text, "[DONE]": nothing to mend
    std::string mended = escapes ? with_lone_surrogates_replaced(text) : std::string(text);
    if (past_ascii) mended = str::with_invalid_utf8_replaced(mended);
    if (mended != text) value = json::parse(mended, nullptr, /*allow_exceptions=*/false);
    return value;
}

std::optional<std::string> blocked_prompt(const json& body) {
    const json* feedback = member(body, "promptFeedback");
    const std::string_view reason = feedback != nullptr ? string_at(*feedback, "blockReason") : "";
    const json* candidates = array_at(body, "candidates");
    if (reason.empty() || (candidates != nullptr && !candidates->empty())) return std::nullopt;
    return "Gemini blocked the prompt: " + std::string(reason);
}

std::optional<std::string> event_error(std::string_view event_type, const json& data) {
    const json* error = member(data, "error");
    if (error == nullptr && string_at(data, "type") == "response.failed") {
        if (const json* response = member(data, "response")) error = member(*response, "error");
    }
    if (error != nullptr) {
        if (error->is_string() && !error->get_ref<const std::string&>().empty()) {
            return error->get<std::string>();
        }
        if (const std::string_view message = string_at(*error, "message"); !message.empty()) {
            return std::string(message);
        }
        // An empty one ({"error":""}, {"error":{}}) says nothing: the whole event then.
        if (error->is_object()) return error->empty() ? data.dump() : error->dump();
        if (error->is_string()) return data.dump();
    }
    if (event_type != "error" && string_at(data, "type") != "error") return std::nullopt;
    // Responses: {"type":"error","code":"server_error","message":"…"}.
    if (const std::string_view message = string_at(data, "message"); !message.empty()) {
        return std::string(message);
    }
    return data.dump();
}

}  // namespace llmgw::textstream
