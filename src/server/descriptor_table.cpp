#include "server/descriptor_table.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

namespace llmgw::server {

namespace {

constexpr long long kMargin = 64;  // the listener, the log, name lookups, libcurl's own

}  // namespace

int descriptors_to_reserve(int max_connections) {
    const long long wanted = 2LL * std::max(max_connections, 0) + kMargin;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    const long long soft =
        limit.rlim_cur == RLIM_INFINITY ? INT_MAX : static_cast<long long>(limit.rlim_cur);
    return static_cast<int>(std::min({wanted, soft, static_cast<long long>(INT_MAX)}));
}

bool reserve_descriptor_table(int any_open_fd, int count) {
    if (count <= 1) return true;
    const int copy = ::fcntl(any_open_fd, F_DUPFD_CLOEXEC, count - 1);
    if (copy < 0) return false;
    ::close(copy);
    return true;
}

}  // namespace llmgw::server
