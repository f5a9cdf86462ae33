#include "server/lane_gate.hpp"

#include <boost/asio/post.hpp>

namespace llmgw::server {

LaneGate::Admit LaneGate::acquire(std::uint64_t& ticket, boost::asio::io_context& io,
                                  std::function<void()> on_grant) {
    std::lock_guard lock(mutex_);
    if (in_use_ < slots_) {
        ++in_use_;
        return Admit::granted;
    }
    if (static_cast<int>(waiters_.size()) >= queue_max_) return Admit::full;
    ticket = ++next_ticket_;
    waiters_.push_back({ticket, &io, std::move(on_grant)});
    return Admit::queued;
}

bool LaneGate::cancel(std::uint64_t ticket) {
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->ticket == ticket) {
            waiters_.erase(it);
            return true;
        }
    }
    return false;
}

void LaneGate::release() {
    Waiter next;
    {
        std::lock_guard lock(mutex_);
        if (waiters_.empty()) {
            if (in_use_ > 0) --in_use_;
            return;
        }
        next = std::move(waiters_.front());  // the slot passes on without being freed
        waiters_.pop_front();
    }
    boost::asio::post(*next.io, std::move(next.on_grant));
}

int LaneGate::in_use() const {
    std::lock_guard lock(mutex_);
    return in_use_;
}

}  // namespace llmgw::server
