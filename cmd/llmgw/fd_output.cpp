#include "fd_output.hpp"

#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "interrupts.hpp"

namespace llmgw::cli {

namespace {

bool is_regular_file(int fd) {
    struct stat st {};
    return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

FdOutput::FdOutput(int fd) : fd_(fd), regular_file_(is_regular_file(fd)) {}

int FdOutput::write(std::string_view bytes) {
    while (!bytes.empty()) {
        if (interrupt_signal() != 0) return EINTR;
        std::size_t piece = bytes.size();
        if (!regular_file_) {
            if (const int waited = wait_for_room(); waited != 0) return waited;
            piece = std::min<std::size_t>(piece, PIPE_BUF);
        }
        const ssize_t n = ::write(fd_, bytes.data(), piece);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
        } else if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
            // A signal (checked above), or an inherited non-blocking descriptor whose room
            // another writer took: wait again.
            continue;
        } else {
            return n < 0 ? errno : EIO;  // EPIPE: nobody reads any more; ENOSPC, EBADF, …
        }
    }
    return 0;
}

int FdOutput::wait_for_room() const {
    pollfd fds[2] = {{fd_, POLLOUT, 0}, {interrupt_fd(), POLLIN, 0}};
    const nfds_t count = fds[1].fd >= 0 ? 2 : 1;
    for (;;) {
        int timeout_ms = -1;
        if (deadline_) {
            using namespace std::chrono;
            const auto left = ceil<milliseconds>(*deadline_ - steady_clock::now()).count();
            if (left <= 0) return ETIMEDOUT;
            timeout_ms = static_cast<int>(std::min<long long>(left, INT_MAX));
        }
        const int ready = ::poll(fds, count, timeout_ms);
        if (ready < 0 && errno != EINTR) return 0;  // let the write say what is wrong
        if (interrupt_signal() != 0 || (count == 2 && fds[1].revents != 0)) return EINTR;
        if (ready > 0 && fds[0].revents != 0) return 0;  // room, or POLLERR/POLLHUP for write
    }
}

}  // namespace llmgw::cli
