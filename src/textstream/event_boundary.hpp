// Where an event stream being relayed stands: between two events or inside one. A relay that
// must cut a stream (a size limit, a failed upstream) can then end it after a whole event, so
// that an error event may follow, or know that nothing can follow.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llmgw::textstream {

class EventBoundary {
  public:
    // `chunk` was relayed, after everything before it.
    void relayed(std::string_view chunk);
    // Nothing was relayed yet, or the last bytes were a blank line (two line ends in a row:
    // LF, CR or CRLF each).
    bool between_events() const;
    // How many bytes of `more`, to be relayed next, reach the end of the last event they end;
    // 0 when they end none.
    std::size_t through_last_event_end(std::string_view more) const;
    void clear() { tail_.clear(); }

  private:
    std::string tail_;  // the last 4 bytes relayed: enough to tell a blank line
};

}  // namespace llmgw::textstream
