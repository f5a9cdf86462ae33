#include "util/send_now.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0  // macOS: the sockets are SO_NOSIGPIPE through Asio
#endif

namespace llmgw {

SendResult send_now(int fd, std::string_view first, std::string_view second) {
    iovec pieces[2] = {{const_cast<char*>(first.data()), first.size()},
                       {const_cast<char*>(second.data()), second.size()}};
    msghdr message{};
    message.msg_iov = pieces;
    message.msg_iovlen = second.empty() ? 1 : 2;
    for (;;) {
        const ssize_t n = ::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0) return {static_cast<std::size_t>(n), 0};
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return {0, 0};
        return {0, errno};
    }
}

}  // namespace llmgw
