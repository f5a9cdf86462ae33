#include "textstream/event_boundary.hpp"

namespace llmgw::textstream {

namespace {

constexpr std::size_t kKeep = 4;

bool ends_an_event(std::string_view tail) {
    if (tail.empty()) return true;
    const auto strip_line_end = [](std::string_view& s) {
        if (s.ends_with("\r\n")) {
            s.remove_suffix(2);
        } else if (s.ends_with('\n') || s.ends_with('\r')) {
            s.remove_suffix(1);
        } else {
            return false;
        }
        return true;
    };
    std::string_view rest = tail;
    return strip_line_end(rest) && strip_line_end(rest);
}

}  // namespace

void EventBoundary::relayed(std::string_view chunk) {
    if (chunk.size() >= kKeep) {
        tail_.assign(chunk.substr(chunk.size() - kKeep));
    } else {
        tail_.append(chunk);
        if (tail_.size() > kKeep) tail_.erase(0, tail_.size() - kKeep);
    }
}

bool EventBoundary::between_events() const { return ends_an_event(tail_); }

std::size_t EventBoundary::through_last_event_end(std::string_view more) const {
    for (std::size_t i = more.size(); i > 0; --i) {
        if (more[i - 1] != '\n' && more[i - 1] != '\r') continue;
        std::string last = i >= kKeep ? std::string() : tail_;
        last.append(more.substr(i >= kKeep ? i - kKeep : 0, i >= kKeep ? kKeep : i));
        if (ends_an_event(last)) return i;
    }
    return 0;
}

}  // namespace llmgw::textstream
