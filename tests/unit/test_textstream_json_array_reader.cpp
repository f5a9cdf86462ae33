#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "textstream/json_array_reader.hpp"

using llmgw::textstream::JsonArrayReader;
using llmgw::textstream::JsonElement;

namespace {

std::vector<std::string> texts(const std::vector<JsonElement>& elements) {
    std::vector<std::string> out;
    for (const JsonElement& e : elements) out.push_back(e.overlong ? "<overlong>" : e.text);
    return out;
}

std::vector<std::string> read_all(std::string_view body, std::size_t piece = 0,
                                  std::size_t max = 1 << 20) {
    JsonArrayReader reader(max);
    std::vector<JsonElement> elements;
    if (piece == 0) piece = body.size() + 1;
    for (std::size_t i = 0; i < body.size(); i += piece)
        reader.feed(body.substr(i, piece), elements);
    return texts(elements);
}

const std::string kArray =
    " \r\n[{\"a\":\"}]\\\"{[\",\"b\":[1,{\"c\":null}]},\r\n\"s\\\\\" , 12.5e3,true,[ ],{}\n]\n";

}  // namespace

TEST_SUITE("textstream.json_array_reader") {
    TEST_CASE("elements of every kind, brackets and escapes in strings counting for nothing") {
        const std::vector<std::string> want{"{\"a\":\"}]\\\"{[\",\"b\":[1,{\"c\":null}]}",
                                            "\"s\\\\\"",
                                            "12.5e3",
                                            "true",
                                            "[ ]",
                                            "{}"};
        for (std::size_t piece = 0; piece < kArray.size(); ++piece) {
            CAPTURE(piece);
            CHECK(read_all(kArray, piece) == want);
        }
        JsonArrayReader reader(1 << 20);
        std::vector<JsonElement> elements;
        reader.feed(kArray, elements);
        CHECK(reader.shape() == JsonArrayReader::Shape::array);
        CHECK(reader.closed());
        CHECK_FALSE(reader.malformed());
        CHECK_FALSE(reader.trailing_bytes());
    }

    TEST_CASE("an element comes out when its last byte arrives") {
        JsonArrayReader reader(1 << 20);
        std::vector<JsonElement> elements;
        reader.feed("[{\"a\":1", elements);
        CHECK(elements.empty());
        reader.feed("}", elements);
        CHECK(texts(elements) == std::vector<std::string>{"{\"a\":1}"});
        reader.feed(",7", elements);
        CHECK(elements.size() == 1);  // a number may go on
        reader.feed("]", elements);
        CHECK(elements.size() == 2);
        CHECK(reader.closed());
    }

    TEST_CASE("not an array, an empty one, a cut one, a malformed one") {
        JsonArrayReader reader(1 << 20);
        std::vector<JsonElement> elements;
        reader.feed("  ", elements);
        CHECK(reader.shape() == JsonArrayReader::Shape::undecided);
        reader.feed("{\"candidates\":[]}", elements);
        CHECK(reader.shape() == JsonArrayReader::Shape::other);
        CHECK(elements.empty());

        CHECK(read_all("[]").empty());
        CHECK(read_all("[{\"a\":[1,2]},{\"b\":").size() == 1);
        for (const std::string_view bad : {"[,1]", "[1,]", "[1 2]", "[{} {}]", "[1,,2]"}) {
            CAPTURE(bad);
            JsonArrayReader r(1 << 20);
            std::vector<JsonElement> e;
            r.feed(bad, e);
            CHECK(r.malformed());
            CHECK_FALSE(r.closed());
        }
        JsonArrayReader trailing(1 << 20);
        trailing.feed("[1] x", elements);
        CHECK(trailing.closed());
        CHECK(trailing.trailing_bytes());
    }

    TEST_CASE("an element over the bound comes out as over-long and the next ones as usual") {
        const std::string body =
            "[{\"t\":\"a\"},{\"t\":\"" + std::string(40, 'x') + "]}\"},{\"t\":\"b\"}]";
        for (std::size_t piece = 0; piece < body.size(); ++piece) {
            CAPTURE(piece);
            CHECK(read_all(body, piece, 16) ==
                  std::vector<std::string>{"{\"t\":\"a\"}", "<overlong>", "{\"t\":\"b\"}"});
        }
        JsonArrayReader reader(16);
        std::vector<JsonElement> elements;
        CHECK(reader.feed(body.substr(0, 20), elements));
        CHECK_FALSE(reader.feed(body.substr(20, 10), elements));
        // From the byte after the previous element to the end of the chunk that passed it.
        CHECK(reader.take_unparsed() == body.substr(10, 20));
        CHECK(reader.feed(body.substr(30), elements));
        CHECK(reader.overflowed());
        CHECK(reader.closed());
    }

    TEST_CASE("an element exactly at the bound is fine") {
        CHECK(read_all("[\"0123456789\"]", 0, 12) == std::vector<std::string>{"\"0123456789\""});
        CHECK(read_all("[\"01234567890\"]", 0, 12) == std::vector<std::string>{"<overlong>"});
    }
}
