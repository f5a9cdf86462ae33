#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "server/head_scan.hpp"

using llmgw::server::HeadScanner;
using Verdict = HeadScanner::Verdict;

namespace {

struct Outcome {
    Verdict verdict;
    std::size_t at;  // offset in the whole stream just past the last byte scanned
};

// Feeds `stream` in pieces cut at `cuts` (ascending offsets); stops at the first verdict.
Outcome scan_pieces(std::string_view stream, const std::vector<std::size_t>& cuts) {
    HeadScanner scanner;
    std::size_t from = 0;
    std::vector<std::size_t> ends = cuts;
    ends.push_back(stream.size());
    for (const std::size_t to : ends) {
        const auto step = scanner.scan(stream.substr(from, to - from));
        if (step.verdict != Verdict::need_more) return {step.verdict, from + step.used};
        CHECK(step.used == to - from);
        from = to;
    }
    return {Verdict::need_more, from};
}

Outcome scan_whole(std::string_view stream) { return scan_pieces(stream, {}); }

// Every way to cut the stream into two pieces, and one byte at a time, must agree with the
// stream scanned whole.
void check_all_splits(std::string_view stream, Verdict verdict, std::size_t at) {
    const Outcome whole = scan_whole(stream);
    CHECK(whole.verdict == verdict);
    CHECK(whole.at == at);
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        CAPTURE(cut);
        const Outcome split = scan_pieces(stream, {cut});
        CHECK(split.verdict == verdict);
        CHECK(split.at == at);
    }
    std::vector<std::size_t> bytes;
    for (std::size_t i = 1; i < stream.size(); ++i) bytes.push_back(i);
    const Outcome trickled = scan_pieces(stream, bytes);
    CHECK(trickled.verdict == verdict);
    CHECK(trickled.at == at);
}

constexpr std::string_view kHead = "GET /x HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\r\n";

}  // namespace

TEST_SUITE("server.head_scan") {
    TEST_CASE("a plain head ends after its empty line, whatever the split") {
        check_all_splits(kHead, Verdict::end, kHead.size());
    }

    TEST_CASE("scanned() is the head's whole size, however it was cut, and stops at its end") {
        const std::string stream = std::string(kHead) + "BODY\r\n\r\n";
        for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
            CAPTURE(cut);
            HeadScanner scanner;
            scanner.scan(std::string_view(stream).substr(0, cut));
            scanner.scan(std::string_view(stream).substr(cut));
            CHECK(scanner.scanned() == kHead.size());
        }
        HeadScanner unfinished;
        unfinished.scan("GET / HTTP/1.1\r\nX-A: 1");
        unfinished.scan("23\r\n");
        CHECK(unfinished.scanned() == 26);
    }

    TEST_CASE("bytes after the head are never scanned: a body may hold anything") {
        const std::string stream = std::string(kHead) + "\r\n folded\n\tand\r\n\r\n";
        check_all_splits(stream, Verdict::end, kHead.size());
        HeadScanner scanner;
        CHECK(scanner.scan(stream).verdict == Verdict::end);
        const auto again = scanner.scan("\r\n continuation");
        CHECK(again.verdict == Verdict::end);
        CHECK(again.used == 0);
        CHECK(scanner.verdict() == Verdict::end);
    }

    TEST_CASE("a continuation line is an obs-fold: SP or HTAB, CRLF or bare LF") {
        const std::string_view te =
            "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n";
        check_all_splits(te, Verdict::obs_fold, te.find(" chunked") + 1);
        const std::string_view tab = "GET /x HTTP/1.1\r\nX-A: 1\r\n\tfolded\r\n\r\n";
        check_all_splits(tab, Verdict::obs_fold, tab.find('\t') + 1);
        const std::string_view lf = "GET /x HTTP/1.1\nX-A: 1\n  folded\n\n";
        check_all_splits(lf, Verdict::obs_fold, lf.find("  folded") + 1);
        // Whitespace between the request line and the first field is a continuation too.
        const std::string_view after_first = "GET /x HTTP/1.1\r\n Host: x\r\n\r\n";
        check_all_splits(after_first, Verdict::obs_fold, after_first.find(" Host") + 1);
    }

    TEST_CASE("the first line is never a continuation, and its end is not the head's end") {
        const std::string_view leading = " GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
        check_all_splits(leading, Verdict::end, leading.size());
        // An empty first line does not end the head: a fold after it is still found.
        const std::string_view empty_first = "\r\nGET /x HTTP/1.1\r\nX-A: 1\r\n b\r\n\r\n";
        check_all_splits(empty_first, Verdict::obs_fold, empty_first.find(" b") + 1);
    }

    TEST_CASE("empty lines (CRLF) before the request line are skipped and counted") {
        // RFC 9112 §2.2: a server ignores them. Before: Beast took the CRLF for a method and
        // the request got 400 "bad method".
        const std::string stream = "\r\n\r\n" + std::string(kHead);
        HeadScanner scanner;
        const std::size_t blank = scanner.skip_empty_lines(stream);
        CHECK(blank == 4);
        CHECK(scanner.scanned() == 4);
        CHECK(scanner.scan(std::string_view(stream).substr(blank)).verdict == Verdict::end);
        CHECK(scanner.scanned() == stream.size());  // the head limit counts them
        // A CR alone may begin one; a bare LF or anything else is none.
        for (const auto& [bytes, skipped] : {std::pair<std::string_view, std::size_t>{"\r\n\r", 2},
                                             {"\r", 0},
                                             {"\n\r\n", 0},
                                             {"\r\n\nGET", 2},
                                             {"GET\r\n", 0},
                                             {"", 0},
                                             {"\r\r\n", 0}}) {
            CAPTURE(bytes);
            HeadScanner fresh;
            CHECK(fresh.skip_empty_lines(bytes) == skipped);
            CHECK(fresh.scanned() == skipped);
        }
    }

    TEST_CASE("bare LF lines and a bare LF empty line end the head like CRLF") {
        const std::string_view lf = "GET /x HTTP/1.1\nHost: x\n\nbody";
        check_all_splits(lf, Verdict::end, lf.find("body"));
        const std::string_view mixed = "GET /x HTTP/1.1\r\nHost: x\n\r\n body";
        check_all_splits(mixed, Verdict::end, mixed.find(" body"));
    }

    TEST_CASE("spaces and tabs inside a line, or after a CR at a line start, are no fold") {
        const std::string_view inside = "GET /x HTTP/1.1\r\nX-A:  a \t b\t\r\nX-B:\t1\r\n\r\n";
        check_all_splits(inside, Verdict::end, inside.size());
        // "\r " at a line start is a bare CR, which Beast refuses itself; the scan goes on.
        const std::string_view bare_cr = "GET /x HTTP/1.1\r\n\r X\r\n\r\n";
        check_all_splits(bare_cr, Verdict::end, bare_cr.size());
    }

    TEST_CASE("passed_in_request_line: the limit falls in the request line, whatever the split") {
        // 414 or 431 (head_checks): the request line's end counts the empty lines before it.
        const std::string_view line = "GET /abcdef HTTP/1.1\r\n";
        for (const std::string_view blank : {"", "\r\n\r\n"}) {
            const std::string stream = std::string(blank) + std::string(line) + "Host: x\r\n\r\n";
            for (std::size_t cut = blank.size(); cut <= stream.size(); ++cut) {
                CAPTURE(blank.size());
                CAPTURE(cut);
                HeadScanner scanner;
                const std::size_t skipped = scanner.skip_empty_lines(stream);
                CHECK(skipped == blank.size());
                scanner.scan(std::string_view(stream).substr(skipped, cut - skipped));
                scanner.scan(std::string_view(stream).substr(cut));
                for (std::size_t limit = 0; limit <= stream.size(); ++limit) {
                    CAPTURE(limit);
                    CHECK(scanner.passed_in_request_line(limit) ==
                          (limit >= blank.size() && limit < blank.size() + line.size()));
                }
            }
        }
        // A request line still going on: past any limit from its start, none in the empty lines.
        HeadScanner unfinished;
        unfinished.skip_empty_lines("\r\n");
        unfinished.scan("GET /abc");
        CHECK_FALSE(unfinished.passed_in_request_line(1));
        CHECK(unfinished.passed_in_request_line(2));
        CHECK(unfinished.passed_in_request_line(1000));
    }

    TEST_CASE("an unfinished head needs more and scans every byte it was given") {
        const std::string_view part = "GET /x HTTP/1.1\r\nHost: x\r\n\r";
        check_all_splits(part, Verdict::need_more, part.size());
        HeadScanner scanner;
        const auto step = scanner.scan("");
        CHECK(step.verdict == Verdict::need_more);
        CHECK(step.used == 0);
        CHECK(scanner.verdict() == Verdict::need_more);
    }
}
