#include "server/descriptor_table.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace llmgw::server {

namespace {

constexpr long long kMargin = 64;          // the listener, the log, name lookups, libcurl's own
// 8 MiB of table; a larger one grows when used.
constexpr unsigned long long kMostReserved = 1 << 20;

long long descriptors_needed(int max_connections) {
    return 2LL * std::max(max_connections, 0) + kMargin;
}

}  // namespace

int raise_open_files_limit(int max_connections) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return errno;
    rlim_t wanted =
        std::min<rlim_t>(static_cast<rlim_t>(descriptors_needed(max_connections)), limit.rlim_max);
#if defined(__APPLE__) && defined(OPEN_MAX)
    wanted = std::min<rlim_t>(wanted, OPEN_MAX);  // macOS refuses a soft limit above it
#endif
    if (limit.rlim_cur >= wanted) return 0;  // RLIM_INFINITY included: a huge number
    limit.rlim_cur = wanted;
    return ::setrlimit(RLIMIT_NOFILE, &limit) == 0 ? 0 : errno;
}

int descriptors_to_reserve(int max_connections) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    return descriptors_to_reserve(max_connections, limit.rlim_cur);
}

int descriptors_to_reserve(int max_connections, unsigned long long soft_limit) {
    const long long wanted = descriptors_needed(max_connections);
    // RLIM_INFINITY, a huge number, gives way to the cap.
    const auto most =
        static_cast<long long>(std::min<unsigned long long>(soft_limit, kMostReserved));
    return static_cast<int>(std::min(wanted, most));
}

int reserve_descriptor_table(int any_open_fd, int count) {
    if (count <= 1) return 0;
    const int copy = ::fcntl(any_open_fd, F_DUPFD_CLOEXEC, count - 1);
    if (copy < 0) return errno;
    ::close(copy);
    return 0;
}

}  // namespace llmgw::server
