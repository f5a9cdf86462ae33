#include "checked_stdout.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>

namespace llmgw::cli {

CheckedStdout::CheckedStdout() : previous_(std::cout.rdbuf(this)) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
}

CheckedStdout::~CheckedStdout() {
    sync();
    std::cout.rdbuf(previous_);
}

void CheckedStdout::write_out(const char* bytes, std::size_t n) {
    while (n > 0 && error_ == 0) {
        const ssize_t written = ::write(STDOUT_FILENO, bytes, n);
        if (written > 0) {
            bytes += written;
            n -= static_cast<std::size_t>(written);
        } else if (written < 0 && errno == EINTR) {
            continue;
        } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // An inherited non-blocking descriptor, full for now: wait for room.
            pollfd out{STDOUT_FILENO, POLLOUT, 0};
            ::poll(&out, 1, -1);
        } else {
            error_ = written < 0 ? errno : EIO;
        }
    }
}

int CheckedStdout::sync() {
    write_out(pbase(), static_cast<std::size_t>(pptr() - pbase()));
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return error_ == 0 ? 0 : -1;
}

CheckedStdout::int_type CheckedStdout::overflow(int_type c) {
    if (sync() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
        *pptr() = traits_type::to_char_type(c);
        pbump(1);
    }
    return traits_type::not_eof(c);
}

std::streamsize CheckedStdout::xsputn(const char* s, std::streamsize n) {
    if (n <= epptr() - pptr()) {
        traits_type::copy(pptr(), s, static_cast<std::size_t>(n));
        pbump(static_cast<int>(n));
        return n;
    }
    if (sync() != 0) return 0;
    write_out(s, static_cast<std::size_t>(n));  // a large piece goes out as it is
    return error_ == 0 ? n : 0;
}

}  // namespace llmgw::cli
