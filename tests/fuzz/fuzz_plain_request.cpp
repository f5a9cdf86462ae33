// The plain-request pass on arbitrary bytes, against Beast's parser on the same bytes: whatever
// the plain pass accepts, Beast must accept with the same method, target, fields, body,
// keep-alive and length (plain_request_diff.hpp), or the two request paths would disagree.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "plain_request_diff.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    // A small body limit too, so the limit's edge is reached by short inputs.
    for (const std::uint64_t body_limit : {std::uint64_t{16}, std::uint64_t{1} << 20}) {
        const plain_diff::Verdict verdict = plain_diff::compare(bytes, body_limit);
        if (!verdict.disagreement.empty()) {
            std::fprintf(stderr, "plain pass and Beast disagree: %s\n", verdict.disagreement.c_str());
        }
        FUZZ_CHECK(verdict.disagreement.empty());
    }
    return 0;
}
