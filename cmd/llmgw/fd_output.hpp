// Where `llmgw call` writes the answer: stdout, as each chunk arrives.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace llmgw::cli {

// Where the body goes. write() blocks until all is written; it returns 0, or the errno that
// stopped it: EPIPE (the reader is gone), EINTR (SIGINT or SIGTERM arrived), ETIMEDOUT (the
// deadline passed while the reader took nothing), ENOSPC, ...
class Output {
  public:
    virtual ~Output() = default;
    virtual int write(std::string_view bytes) = 0;
    // From then on, a write() still waiting for its reader at `deadline` gives up (ETIMEDOUT).
    virtual void give_up_at(std::chrono::steady_clock::time_point deadline) = 0;
};

// A file descriptor, written with write(2) so each chunk reaches a pipe at once. A pipe, socket
// or terminal is written in pieces of PIPE_BUF bytes, each once poll(2) says there is room, so a
// reader that stopped reading cannot hold the process past a signal or the deadline (a write of
// more would block until all of it fits).
class FdOutput : public Output {
  public:
    explicit FdOutput(int fd);
    int write(std::string_view bytes) override;
    void give_up_at(std::chrono::steady_clock::time_point deadline) override {
        deadline_ = deadline;
    }

  private:
    int wait_for_room() const;  // 0 once there is room (or an error the write will say)

    int fd_;
    bool regular_file_;  // never blocks for a reader: written whole, without poll(2)
    std::optional<std::chrono::steady_clock::time_point> deadline_;
};

}  // namespace llmgw::cli
