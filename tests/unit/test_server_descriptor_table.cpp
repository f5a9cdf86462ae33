// The descriptor table grown once at start (server/descriptor_table.hpp): its size read back
// from /proc/self/status, and the reservation kept within the open-files limit.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string>

#include "server/descriptor_table.hpp"

using llmgw::server::descriptors_to_reserve;
using llmgw::server::raise_open_files_limit;
using llmgw::server::reserve_descriptor_table;

namespace {

// The slots of this process's descriptor table (Linux's FDSize), or -1 where /proc has none.
int table_slots() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("FDSize:", 0) == 0) return std::stoi(line.substr(7));
    }
    return -1;
}

// Sets the soft open-files limit for one scope, then puts the old one back.
class SoftLimit {
public:
    explicit SoftLimit(rlim_t soft) {
        REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved_) == 0);
        rlimit changed = saved_;
        changed.rlim_cur = soft;
        REQUIRE(::setrlimit(RLIMIT_NOFILE, &changed) == 0);
    }
    ~SoftLimit() { ::setrlimit(RLIMIT_NOFILE, &saved_); }
    SoftLimit(const SoftLimit&) = delete;
    SoftLimit& operator=(const SoftLimit&) = delete;

private:
    rlimit saved_{};
};

rlim_t hard_limit() {
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    return limit.rlim_max;
}

rlim_t soft_limit() {
    rlimit limit{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
    return limit.rlim_cur;
}

}  // namespace

TEST_SUITE("server.descriptor_table") {
    TEST_CASE("the soft open-files limit raised to two descriptors per connection, never lowered") {
        const rlim_t hard = hard_limit();
        REQUIRE(hard >= 300);
        const SoftLimit limit(256);
        CHECK(raise_open_files_limit(100) == 0);
        CHECK(soft_limit() == std::min<rlim_t>(hard, 264));
        CHECK(raise_open_files_limit(10) == 0);  // 84 needed: the 264 stay
        CHECK(soft_limit() == std::min<rlim_t>(hard, 264));
        CHECK(raise_open_files_limit(1 << 24) == 0);  // more than the hard limit: up to it
        CHECK(soft_limit() >= std::min<rlim_t>(hard, 10240));  // macOS stops at OPEN_MAX, 10,240
    }

    TEST_CASE("two descriptors per connection and a margin, within the soft open-files limit") {
        REQUIRE(hard_limit() >= 1000);
        const SoftLimit limit(1000);
        CHECK(descriptors_to_reserve(100) == 264);
        CHECK(descriptors_to_reserve(468) == 1000);
        CHECK(descriptors_to_reserve(20000) == 1000);  // the limit, not 40,064
        CHECK(descriptors_to_reserve(0) == 64);
        CHECK(descriptors_to_reserve(-5) == 64);
    }

    TEST_CASE("never more than 2^20 descriptors, whatever the limit") {
        // Given the limit: Linux's default fs.nr_open is 2^20, so no real limit here exceeds it.
        CHECK(descriptors_to_reserve(16777216, RLIM_INFINITY) == 1 << 20);
        CHECK(descriptors_to_reserve(16777216, (1ULL << 20) + 5) == 1 << 20);
        CHECK(descriptors_to_reserve(16777216, (1ULL << 20) - 5) == (1 << 20) - 5);
        CHECK(descriptors_to_reserve(100, RLIM_INFINITY) == 264);
    }

    TEST_CASE("the table holds the reserved descriptors at once, and nothing stays open") {
        const int before = table_slots();
        if (before < 0) return;  // no /proc: nothing to read the size from
        const int want = before * 2 + 1;  // the kernel doubles: one growth at least
        if (hard_limit() < static_cast<rlim_t>(want) + 1) {
            MESSAGE("open-files hard limit below ", want + 1, ": not checked");
            return;
        }
        const SoftLimit limit(static_cast<rlim_t>(want) + 1);
        REQUIRE(reserve_descriptor_table(STDERR_FILENO, want) == 0);
        CHECK(table_slots() >= want);
        CHECK(::fcntl(want - 1, F_GETFD) == -1);  // the copy was closed
    }

    TEST_CASE("past the soft limit: refused with EINVAL, and the caller goes on without") {
        REQUIRE(hard_limit() >= 200);
        const SoftLimit limit(200);
        CHECK(reserve_descriptor_table(STDERR_FILENO, 500) == EINVAL);
        CHECK(reserve_descriptor_table(STDERR_FILENO, 1) == 0);  // nothing to grow
    }
}
