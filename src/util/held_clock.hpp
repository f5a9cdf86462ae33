// The steady clock, read once per I/O completion on the request path rather than at each use.
// A proxied request used to read it ten times (deadlines, time to first byte, idle times of
// pooled connections); each read costs as much as tens of parsed header bytes. A HeldClock at
// the top of a completion handler reads it once; steady_now() inside that handler, and in what
// it calls, returns that reading. Outside any HeldClock, steady_now() reads the clock.
//
// A held reading is older than the real time by the handler's run so far: microseconds
// usually, milliseconds when it copies a large body. Deadlines set from it come that much
// earlier, and durations measured across handlers start when the handler began, which is when
// the bytes arrived. What must not be measured short (an idle time that decides a check, the
// duration in the log) reads the clock itself.
#pragma once

#include <chrono>

namespace llmgw {

using SteadyTime = std::chrono::steady_clock::time_point;

namespace held_clock_detail {
inline constinit thread_local SteadyTime held_now{};
inline constinit thread_local bool held = false;
}  // namespace held_clock_detail

class HeldClock {
public:
    HeldClock()
        : outer_now_(held_clock_detail::held_now), outer_held_(held_clock_detail::held) {
        held_clock_detail::held_now = std::chrono::steady_clock::now();
        held_clock_detail::held = true;
    }
    ~HeldClock() {  // an outer handler's reading (or none) again
        held_clock_detail::held_now = outer_now_;
        held_clock_detail::held = outer_held_;
    }
    HeldClock(const HeldClock&) = delete;
    HeldClock& operator=(const HeldClock&) = delete;

private:
    SteadyTime outer_now_;
    bool outer_held_;
};

inline SteadyTime steady_now() {
    return held_clock_detail::held ? held_clock_detail::held_now : std::chrono::steady_clock::now();
}

}  // namespace llmgw
