// The response formats of the LLM APIs that `llmgw call --text` understands: which API a
// JSON value came from, the generated text it carries, and how its event stream ends.
//   openai     chat completions (choices[].delta.content or .refusal, choices[0].message's)
//              and completions (choices[].text); streams end with "data: [DONE]"
//   responses  OpenAI Responses API (response.output_text.delta and response.refusal.delta;
//              output[].content[] output_text and refusal parts); streams end with
//              response.completed (or .incomplete / .failed)
//   anthropic  Messages API (content_block_delta text_delta; content[]); ends with message_stop
//   gemini     generateContent / streamGenerateContent (candidates[0].content.parts[].text);
//              an event stream ends with the candidate's finishReason
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace llmgw::textstream {

enum class Format { unknown, openai, responses, anthropic, gemini, ollama };

// No API nests its answers anywhere near this deep.
constexpr int kMaxJsonDepth = 128;

// `text` as JSON, parsed without exceptions (a non-JSON event is a normal thing to meet:
// "[DONE]"). Not JSON, or nested deeper than kMaxJsonDepth, is a discarded value: what reads
// a value recursively (dump(), a Gemini array of responses) then stays within the stack.
// A lone surrogate escape ("\ud83d" without its pair) is read as U+FFFD.
nlohmann::json parse_json(std::string_view text);
// `text` with each \uXXXX escape of a lone UTF-16 surrogate (one not in a high-low pair)
// written as \ufffd; parse_json() takes a body that fails to parse so.
std::string with_lone_surrogates_replaced(std::string_view text);

std::string_view to_string(Format format);  // "OpenAI chat/completions", …
// How a stream of `format` ends, for messages ("data: [DONE]"); empty when it has no marker.
std::string_view end_marker(Format format);

// Which API produced this JSON object: one stream event's data or a whole response body.
Format detect_format(const nlohmann::json& value);

// Generated text carried by one stream event (empty when it carries none). Only the choice
// or candidate of index 0 (or the first without an index) counts, so n > 1 does not
// interleave several answers.
std::string event_text(Format format, std::string_view event_type, const nlohmann::json& data);

// The generated text of a complete (non-streaming) response body.
std::string response_text(Format format, const nlohmann::json& body);

// OpenAI's end marker: the data "[DONE]", blanks around it ignored.
bool is_done_marker(std::string_view data);

// True when this event ends a stream of `format`. `data` is the raw data; `parsed` its JSON
// value when it is JSON (nullptr otherwise). A Gemini event ends it with the finishReason of
// the candidate that counts, or with a blocked prompt.
bool is_end_event(Format format, std::string_view event_type, std::string_view data,
                  const nlohmann::json* parsed);

// "Gemini blocked the prompt: SAFETY" for a Gemini answer (or stream event) whose
// promptFeedback has a blockReason and that has no candidate; nullopt otherwise.
std::optional<std::string> blocked_prompt(const nlohmann::json& body);

// The message of an error reported inside a stream ({"error":{"message":…}} data, Anthropic's
// and Responses' "type":"error", Responses' "response.failed"), or nullopt.
std::optional<std::string> event_error(std::string_view event_type, const nlohmann::json& data);

}  // namespace llmgw::textstream
