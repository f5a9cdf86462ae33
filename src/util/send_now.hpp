// One non-blocking write of up to two pieces (a head and a body) to a connected socket: what
// the socket takes now, with no mode change (MSG_DONTWAIT) and no SIGPIPE (MSG_NOSIGNAL).
// The event loops write this way first and fall back to an asynchronous write for the rest.
#pragma once

#include <cstddef>
#include <string_view>

namespace llmgw {

struct SendResult {
    std::size_t written = 0;  // bytes the socket took (0 when it took none)
    int error = 0;            // errno of a failed write; 0 for success or "try later"
};

SendResult send_now(int fd, std::string_view first, std::string_view second = {});

}  // namespace llmgw
