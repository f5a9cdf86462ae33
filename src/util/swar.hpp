// Eight bytes at a time in a uint64_t ("SWAR"): the constants and the load that the word-wise
// scanners (header values, plain heads, case folding, the JSON peek) share.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace llmgw::swar {

inline constexpr std::size_t kWordBytes = sizeof(std::uint64_t);
inline constexpr std::uint64_t kEveryByte = 0x0101010101010101u;  // times a byte: it, 8 times
inline constexpr std::uint64_t kHighBits = 0x8080808080808080u;

// The eight bytes at p with byte k of memory in bits 8k..8k+7, so the first byte in memory is
// the lowest: one load (memcpy: no alignment or aliasing UB) on little-endian machines.
inline std::uint64_t load_little_endian(const char* p) {
    std::uint64_t word = 0;
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&word, p, kWordBytes);
    } else {
        for (std::size_t k = 0; k < kWordBytes; ++k) {
            word |= std::uint64_t{static_cast<unsigned char>(p[k])} << (8 * k);
        }
    }
    return word;
}

}  // namespace llmgw::swar
