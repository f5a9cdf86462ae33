// std::cout's buffer while a command runs: write(2) to descriptor 1, keeping the errno of the
// first write that failed. C's stdio, which std::cout writes through otherwise, forgets it once
// it drops the bytes it could not write, so the error said at exit had no reason (a closed or
// full standard output).
#pragma once

#include <array>
#include <streambuf>

namespace llmgw::cli {

class CheckedStdout final : public std::streambuf {
  public:
    CheckedStdout();            // takes std::cout's place of its buffer
    ~CheckedStdout() override;  // writes what is left and gives std::cout its buffer back
    CheckedStdout(const CheckedStdout&) = delete;
    CheckedStdout& operator=(const CheckedStdout&) = delete;

    // 0, or the errno of the first write that failed (the bytes after it are dropped).
    int error() const { return error_; }

  private:
    int_type overflow(int_type c) override;
    std::streamsize xsputn(const char* s, std::streamsize n) override;
    int sync() override;
    void write_out(const char* bytes, std::size_t n);

    std::streambuf* previous_;
    std::array<char, 8192> buffer_{};
    int error_ = 0;
};

}  // namespace llmgw::cli
