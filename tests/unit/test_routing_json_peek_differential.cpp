// peek_json_stream_flag against nlohmann::json as an oracle, on generated documents and
// random mutations of them (fixed seed, so failures reproduce).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>

#include "fuzz/exact_buffer.hpp"
#include "routing/router.hpp"

using llmgw::routing::JsonStreamFlag;
using llmgw::routing::peek_json_stream_flag;

namespace {

class Generator {
  public:
    explicit Generator(unsigned seed) : rng_(seed) {}

    std::string document() {
        std::string out;
        whitespace(out);
        object(out, 0);
        whitespace(out);
        return out;
    }

    std::string mutate(std::string doc) {
        static constexpr std::string_view kBytes = "{}[]:,\"\\ 0123456789-+.eEtrufalsn\t\nx";
        const int edits = pick(1, 3);
        for (int i = 0; i < edits && !doc.empty(); ++i) {
            const std::size_t at =
                static_cast<std::size_t>(pick(0, static_cast<int>(doc.size()) - 1));
            switch (pick(0, 3)) {
                case 0:
                    doc.erase(at, 1);
                    break;
                case 1:
                    doc.insert(doc.begin() + static_cast<long>(at), kBytes[index(kBytes.size())]);
                    break;
                case 2:
                    doc[at] = kBytes[index(kBytes.size())];
                    break;
                default:
                    doc.resize(at);
                    break;
            }
        }
        return doc;
    }

  private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    std::size_t index(std::size_t size) {
        return static_cast<std::size_t>(pick(0, static_cast<int>(size) - 1));
    }

    void whitespace(std::string& out) {
        static constexpr std::string_view kSpaces[] = {"", "", " ", "\n", "\t ", "\r\n"};
        out += kSpaces[index(std::size(kSpaces))];
    }

    void key(std::string& out) {
        static constexpr std::string_view kKeys[] = {
            R"("stream")",  R"("str\u0065am")", R"("model")", R"("Stream")",
            R"("streams")", R"("s\"t")",        R"("")",      R"("\u0073tream")",
            R"("a\\b")",    R"("x\/y")"};
        out += kKeys[index(std::size(kKeys))];
    }

    void scalar(std::string& out) {
        static constexpr std::string_view kScalars[] = {"true",
                                                        "false",
                                                        "null",
                                                        "0",
                                                        "-1",
                                                        "1.5",
                                                        "-0.25e-3",
                                                        "12E+2",
                                                        R"("true")",
                                                        R"("")",
                                                        R"("a\nb\u00e9")",
                                                        R"("\\")"};
        out += kScalars[index(std::size(kScalars))];
    }

    void value(std::string& out, int depth) {
        const int kind = depth >= 5 ? 2 : pick(0, 4);
        if (kind == 0) {
            object(out, depth + 1);
        } else if (kind == 1) {
            array(out, depth + 1);
        } else {
            scalar(out);
        }
    }

    void object(std::string& out, int depth) {
        out += '{';
        const int members = pick(0, 4);
        for (int i = 0; i < members; ++i) {
            if (i > 0) out += ',';
            whitespace(out);
            key(out);
            whitespace(out);
            out += ':';
            whitespace(out);
            value(out, depth);
            whitespace(out);
        }
        out += '}';
    }

    void array(std::string& out, int depth) {
        out += '[';
        const int items = pick(0, 3);
        for (int i = 0; i < items; ++i) {
            if (i > 0) out += ',';
            whitespace(out);
            value(out, depth);
            whitespace(out);
        }
        out += ']';
    }

    std::mt19937 rng_;
};

JsonStreamFlag oracle(const std::string& text) {
    const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded() || !doc.is_object()) return JsonStreamFlag::invalid_json;
    const auto it = doc.find("stream");
    if (it == doc.end()) return JsonStreamFlag::absent;
    return (it->is_boolean() && it->get<bool>()) ? JsonStreamFlag::is_true : JsonStreamFlag::other;
}

}  // namespace

TEST_SUITE("routing.json_peek") {
    TEST_CASE("agrees with a full JSON parser on generated and mutated documents") {
        Generator generator(20240601);
        int valid = 0;
        int invalid = 0;
        for (int i = 0; i < 20000; ++i) {
            std::string doc = generator.document();
            if (i % 2 == 1) doc = generator.mutate(std::move(doc));
            const JsonStreamFlag expected = oracle(doc);
            (expected == JsonStreamFlag::invalid_json ? invalid : valid) += 1;
            // A copy of exactly the document's size, so ASan catches any read past its end.
            const llmgw::test::ExactBuffer exact(doc);
            const JsonStreamFlag actual = peek_json_stream_flag(exact.view());
            if (actual != expected) {
                CAPTURE(doc);
                CHECK(static_cast<int>(actual) == static_cast<int>(expected));
            }
        }
        // The generator must exercise both outcomes in earnest.
        CHECK(valid > 5000);
        CHECK(invalid > 2000);
    }
}
