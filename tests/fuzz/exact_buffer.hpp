// A copy of some bytes in a heap block of exactly their size, for tests of code that reads
// input a word at a time: ASan then reports a read even one byte past the end. A std::string
// would not do, as it keeps room for its terminator or holds short text inside itself. Shared by
// the unit tests and the fuzz targets.
#pragma once

#include <cstring>
#include <memory>
#include <string_view>

namespace llmgw::test {

class ExactBuffer {
  public:
    explicit ExactBuffer(std::string_view bytes)
        : size_(bytes.size()), data_(std::make_unique<char[]>(bytes.size())) {
        if (size_ != 0) std::memcpy(data_.get(), bytes.data(), size_);
    }
    std::string_view view() const { return {data_.get(), size_}; }

  private:
    std::size_t size_;
    std::unique_ptr<char[]> data_;
};

}  // namespace llmgw::test
