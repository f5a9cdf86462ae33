// The plain passes on arbitrary bytes, against Beast's parsers on the same bytes, the input
// read once as a request and once as an upstream's answer: whatever a plain pass accepts,
// Beast must read the same way (plain_head_diff.hpp), or the two paths would disagree.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "fuzz_check.hpp"
#include "plain_head_diff.hpp"

namespace {

void check(const plain_diff::Verdict& verdict, const char* what) {
    if (!verdict.disagreement.empty()) {
        std::fprintf(stderr, "plain %s pass and Beast disagree: %s\n", what, verdict.disagreement.c_str());
    }
    FUZZ_CHECK(verdict.disagreement.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // A small body limit too, so the limit's edge is reached by short inputs.
    check(plain_diff::compare_request(bytes, 16), "request");
    check(plain_diff::compare_request(bytes, std::uint64_t{1} << 20), "request");
    check(plain_diff::compare_response(bytes), "response");
    return 0;
}
