#include "server/loop.hpp"

#include <vector>

#include "server/session.hpp"

namespace llmgw::server {

Loop::~Loop() {
    // A session proxying a request holds a reference to itself until the response ends, so one
    // the drain gave up on would never be freed. Closing it cancels its exchange and drops that
    // reference; closing may free it, hence the copy of the set.
    const std::vector<Session*> open(sessions.begin(), sessions.end());
    for (Session* session : open) session->stop();
    io.destroy_pending_handlers();
}

}  // namespace llmgw::server
