// Headers: one storage string plus an index; order, spelling and values must survive every
// change, copies and moves.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "util/headers.hpp"

using llmgw::HeaderField;
using llmgw::Headers;

namespace {
std::vector<std::string> lines(const Headers& h) {
    std::vector<std::string> out;
    for (const HeaderField f : h) out.push_back(std::string(f.name) + ": " + std::string(f.value));
    return out;
}
}  // namespace

TEST_SUITE("util.headers") {
    TEST_CASE("fields keep their order and spelling; lookup ignores case") {
        Headers h{{"Content-Type", "application/json"}, {"X-Empty", ""}, {"x-dup", "1"}};
        h.add("X-Dup", "2");
        CHECK(h.size() == 4);
        CHECK(lines(h) == std::vector<std::string>{"Content-Type: application/json", "X-Empty: ",
                                                   "x-dup: 1", "X-Dup: 2"});
        CHECK(h.get("content-type") == "application/json");
        CHECK(h.get("X-DUP") == "1");  // the first one
        CHECK(h.get("x-empty") == "");
        CHECK_FALSE(h.get("missing"));
        CHECK(h.contains("x-EMPTY"));
        CHECK(h[3].value == "2");
    }

    TEST_CASE("remove and set drop every field of the name, and set appends one") {
        Headers h{{"A", "1"}, {"b", "2"}, {"B", "3"}, {"c", "4"}};
        h.remove("B");
        CHECK(lines(h) == std::vector<std::string>{"A: 1", "c: 4"});
        h.set("a", "9");
        CHECK(lines(h) == std::vector<std::string>{"c: 4", "a: 9"});
        h.add("d", "5");  // after a removal, new fields still land in order
        CHECK(lines(h) == std::vector<std::string>{"c: 4", "a: 9", "d: 5"});
        h.clear();
        CHECK(h.empty());
        CHECK(h.begin() == h.end());
    }

    TEST_CASE("values stay right as the storage grows, and in copies and moves") {
        Headers h;
        for (int i = 0; i < 200; ++i) h.add("X-Field-" + std::to_string(i), std::string(i, 'v'));
        int i = 0;
        for (const HeaderField f : h) {
            CHECK(f.name == "X-Field-" + std::to_string(i));
            CHECK(f.value == std::string(i, 'v'));
            ++i;
        }
        CHECK(i == 200);
        Headers copy = h;
        h.clear();
        h.add("only", "one");
        CHECK(copy.size() == 200);
        CHECK(copy.get("x-field-199") == std::string(199, 'v'));
        Headers moved = std::move(copy);
        CHECK(moved.get("X-FIELD-7") == "vvvvvvv");
        CHECK(lines(h) == std::vector<std::string>{"only: one"});
    }

    TEST_CASE("copy and move assignment, self-assignment, and a moved-from set used again") {
        Headers a{{"A", "1"}, {"B", std::string(3000, 'b')}};
        Headers b{{"Z", "z"}};
        b = a;
        CHECK(lines(b) == lines(a));
        b = static_cast<const Headers&>(b);  // self-copy keeps the fields
        CHECK(b.get("b") == std::string(3000, 'b'));
        Headers c = std::move(b);
        CHECK(c.size() == 2);
        CHECK(b.empty());  // NOLINT(bugprone-use-after-move): left empty and usable
        b.add("again", "yes");
        CHECK(lines(b) == std::vector<std::string>{"again: yes"});
        c = std::move(a);
        CHECK(c.get("A") == "1");
        CHECK(a.empty());  // NOLINT(bugprone-use-after-move)
        a.add("", "");  // an empty field: nothing copied, still a field
        CHECK(a.size() == 1);
        CHECK(a[0].name.empty());
        Headers empty;
        Headers empty_copy = empty;
        CHECK(empty_copy.empty());
    }
}
