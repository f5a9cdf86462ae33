// routing::parse_target on arbitrary request targets. Besides memory safety it checks the
// promise that matters: an accepted proxy target can never leave the service's base_url.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "routing/target.hpp"

using llmgw::routing::parse_target;
using llmgw::routing::TargetKind;

namespace {

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

bool is_dot_segment(std::string_view segment) {
    std::string decoded;
    for (std::size_t i = 0; i < segment.size(); ++i) {
        if (segment.substr(i, 3) == "%2e" || segment.substr(i, 3) == "%2E") {
            decoded += '.';
            i += 2;
        } else {
            decoded += segment[i];
        }
    }
    return decoded == "." || decoded == "..";
}

void check_proxy_path(std::string_view path) {
    FUZZ_CHECK(!path.empty() && path.front() == '/');
    FUZZ_CHECK(path.find('\\') == std::string_view::npos);
    FUZZ_CHECK(path.find("//") == std::string_view::npos);
    FUZZ_CHECK(path.find('#') == std::string_view::npos);
    FUZZ_CHECK(path.find('?') == std::string_view::npos);
    std::size_t start = 1;
    while (start <= path.size()) {
        const std::size_t slash = path.find('/', start);
        const std::size_t end = slash == std::string_view::npos ? path.size() : slash;
        FUZZ_CHECK(!is_dot_segment(path.substr(start, end - start)));
        start = end + 1;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // libFuzzer's buffer is exactly `size` bytes, so ASan sees any read past the end.
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto result = parse_target(input);
    if (!result) {
        FUZZ_CHECK(!result.error().reason.empty());
        return 0;
    }
    const auto& target = *result;
    FUZZ_CHECK(inside(target.service, input));
    FUZZ_CHECK(inside(target.upstream_path, input));
    FUZZ_CHECK(inside(target.query, input));
    FUZZ_CHECK(target.has_query || target.query.empty());
    if (target.kind == TargetKind::proxy) {
        FUZZ_CHECK(!target.service.empty());
        FUZZ_CHECK(target.service.find_first_of("/@\\%") == std::string_view::npos);
        check_proxy_path(target.upstream_path);
    }
    return 0;
}
