#include "util/headers.hpp"

#include <algorithm>
#include <stdexcept>

#include "util/strings.hpp"

namespace llmgw {

Headers::Headers(std::initializer_list<HeaderField> fields) {
    for (const HeaderField& f : fields) add(f.name, f.value);
}

void Headers::add(std::string_view name, std::string_view value) {
    // Offsets are 32-bit: a head is bounded far below that (16 KiB in, 64 KiB from upstreams).
    if (text_.size() + name.size() + value.size() > UINT32_MAX) {
        throw std::length_error("header fields exceed 4 GiB");
    }
    slots_.push_back({static_cast<std::uint32_t>(text_.size()), static_cast<std::uint32_t>(name.size()),
                      static_cast<std::uint32_t>(value.size())});
    text_.append(name);
    text_.append(value);
}

void Headers::set(std::string_view name, std::string_view value) {
    remove(name);
    add(name, value);
}

void Headers::remove(std::string_view name) {
    // The removed fields' bytes stay in text_ until clear(): removal is rare and heads small.
    std::erase_if(slots_, [&](const Slot& s) { return str::iequals(field(s).name, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
    for (const Slot& s : slots_) {
        const HeaderField f = field(s);
        if (str::iequals(f.name, name)) return f.value;
    }
    return std::nullopt;
}

void Headers::reserve(std::size_t fields, std::size_t bytes) {
    slots_.reserve(fields);
    text_.reserve(bytes);
}

void Headers::clear() {
    slots_.clear();
    text_.clear();
}

}  // namespace llmgw
