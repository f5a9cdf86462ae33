#include "util/headers.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "util/field_writer.hpp"
#include "util/strings.hpp"

namespace llmgw {

Headers::Headers(std::initializer_list<HeaderField> fields) {
    for (const HeaderField& f : fields) add(f.name, f.value);
}

Headers::Headers(const Headers& other) : slots_(other.slots_) {
    reserve_text(other.text_size_);
    if (other.text_size_ != 0) std::memcpy(text_.get(), other.text_.get(), other.text_size_);
    text_size_ = other.text_size_;
}

Headers& Headers::operator=(const Headers& other) {
    if (this != &other) *this = Headers(other);
    return *this;
}

Headers::Headers(Headers&& other) noexcept
    : text_(std::move(other.text_)),
      text_size_(std::exchange(other.text_size_, 0)),
      text_capacity_(std::exchange(other.text_capacity_, 0)),
      slots_(std::move(other.slots_)) {
    other.slots_.clear();
}

Headers& Headers::operator=(Headers&& other) noexcept {
    if (this != &other) {
        text_ = std::move(other.text_);
        text_size_ = std::exchange(other.text_size_, 0);
        text_capacity_ = std::exchange(other.text_capacity_, 0);
        slots_ = std::move(other.slots_);
        other.slots_.clear();
    }
    return *this;
}

std::unique_ptr<char[]> Headers::reserve_text(std::size_t bytes) {
    if (bytes <= text_capacity_) return nullptr;
    const std::size_t capacity = std::max(bytes, 2 * text_capacity_);
    std::unique_ptr<char[]> grown(new char[capacity]);  // not zeroed: written before read
    if (text_size_ != 0) std::memcpy(grown.get(), text_.get(), text_size_);
    text_capacity_ = capacity;
    return std::exchange(text_, std::move(grown));
}

void Headers::add(std::string_view name, std::string_view value) {
    // Offsets are 32-bit: a head is bounded far below that (16 KiB in, 64 KiB from upstreams).
    const std::size_t at = text_size_;
    if (name.size() + value.size() > UINT32_MAX - at) {
        throw std::length_error("header fields exceed 4 GiB");
    }
    // `name` or `value` may be a field of these very headers: the old block stays until copied.
    const std::unique_ptr<char[]> previous = reserve_text(at + name.size() + value.size());
    slots_.push_back({static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(name.size()),
                      static_cast<std::uint32_t>(value.size())});
    // copy_bytes reads nothing from an empty view, which may have no data pointer.
    copy_bytes(text_.get() + at, name.data(), name.size());
    copy_bytes(text_.get() + at + name.size(), value.data(), value.size());
    text_size_ = at + name.size() + value.size();
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
    reserve_text(bytes);
}

void Headers::clear() {
    slots_.clear();
    text_size_ = 0;
}

}  // namespace llmgw
