// routing::peek_json_stream_flag on arbitrary bodies, with nlohmann::json as the oracle
// wherever the oracle's answer is unambiguous (a valid object, shallow, one "stream" key).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "routing/router.hpp"

using llmgw::routing::JsonStreamFlag;
using llmgw::routing::peek_json_stream_flag;

namespace {

constexpr int kComparedDepth = 32;  // well below the scanner's own limit of 64

// The expected flag, or nullopt when the oracle cannot judge this body.
std::optional<JsonStreamFlag> oracle(const std::string& body) {
    // nlohmann's lexer takes a NUL byte for the end of input, so "{}\0x" is valid to it. (It
    // skips a leading UTF-8 byte order mark, as the peek does: RFC 8259 §8.1 allows it.)
    if (body.find('\0') != std::string::npos) return std::nullopt;
    int stream_keys = 0;
    int max_depth = 0;
    const auto watch = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        if (depth > max_depth) max_depth = depth;
        if (event == nlohmann::json::parse_event_t::key && depth == 1 && parsed == "stream") {
            ++stream_keys;
        }
        return true;
    };
    nlohmann::json doc;
    try {
        doc = nlohmann::json::parse(body, watch);
    } catch (const nlohmann::json::out_of_range&) {
        return std::nullopt;  // a number past a double's range: valid JSON, refused by nlohmann
    } catch (const nlohmann::json::parse_error& e) {
        if (max_depth > kComparedDepth) return std::nullopt;
        // nlohmann also refuses ill-formed UTF-8 in strings, and a \u escape of a lone
        // surrogate (RFC 8259 §8.2: valid grammar, its meaning unpredictable), which the peek
        // leaves to the upstream; any other refusal is the peek's to agree with.
        const std::string_view what = e.what();  // "...: ill-formed UTF-8 byte; last read: ..."
        const std::string_view why = what.substr(0, what.find("; last read"));
        if (why.find("ill-formed UTF-8") != std::string_view::npos ||
            why.find("surrogate U+") != std::string_view::npos) {
            return std::nullopt;
        }
        return JsonStreamFlag::invalid_json;
    }
    if (max_depth > kComparedDepth) return std::nullopt;
    // JSON but not an object: routing takes it for no stream flag at all, as for invalid JSON.
    if (!doc.is_object()) return JsonStreamFlag::invalid_json;
    if (stream_keys > 1) return std::nullopt;
    const auto it = doc.find("stream");
    if (it == doc.end()) return JsonStreamFlag::absent;
    return (it->is_boolean() && it->get<bool>()) ? JsonStreamFlag::is_true : JsonStreamFlag::other;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // libFuzzer's buffer is exactly `size` bytes, so ASan sees any read past its end.
    const JsonStreamFlag actual =
        peek_json_stream_flag(std::string_view(reinterpret_cast<const char*>(data), size));
    const std::string body(reinterpret_cast<const char*>(data), size);  // for the oracle
    if (const auto expected = oracle(body)) {
        if (actual != *expected) {
            std::fprintf(stderr, "peek says %d, nlohmann says %d\n", static_cast<int>(actual),
                         static_cast<int>(*expected));
        }
        FUZZ_CHECK(actual == *expected);
    }
    return 0;
}
