// An ordered list of HTTP header fields with case-insensitive lookup. Order and the
// client's spelling are kept, because proxies must not reorder what they relay.
//
// Names and values live back to back in one block, with a small index beside it: a request's
// dozen fields cost two allocations, not one or two per field. A HeaderField is a view into
// that storage, valid until the Headers is next changed. The block is managed here rather than
// by a std::string, so that adding a field is one room check and two copies.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmgw {

struct HeaderField {
    std::string_view name;
    std::string_view value;
};

class Headers {
    struct Slot {
        std::uint32_t at;          // where the name starts in text_; the value follows it
        std::uint32_t name_size;
        std::uint32_t value_size;
    };

public:
    Headers() = default;
    Headers(std::initializer_list<HeaderField> fields);
    Headers(const Headers& other);
    Headers& operator=(const Headers& other);
    Headers(Headers&& other) noexcept;
    Headers& operator=(Headers&& other) noexcept;
    ~Headers() = default;

    void add(std::string_view name, std::string_view value);
    // Replaces every field of that name with one field (appended if absent).
    void set(std::string_view name, std::string_view value);
    void remove(std::string_view name);
    // Drops the field added last (its text stays until clear()).
    void remove_last() { slots_.pop_back(); }
    bool contains(std::string_view name) const { return get(name).has_value(); }
    // First value of that name.
    std::optional<std::string_view> get(std::string_view name) const;

    std::size_t size() const { return slots_.size(); }
    bool empty() const { return slots_.empty(); }
    HeaderField operator[](std::size_t i) const { return field(slots_[i]); }
    // Room for `fields` fields of `bytes` bytes in all, names and values together.
    void reserve(std::size_t fields, std::size_t bytes = 0);
    // Storage that holds the fields of most heads without growing (an SDK's request: ~800).
    // 1 KiB: the largest block mimalloc serves from its small-object fast path. (Reserved in a
    // std::string, it was 1,025 bytes with the terminator, which took the generic path: ~260
    // instructions more per request.)
    static constexpr std::size_t kTypicalBytes = 1024;
    void clear();

    class const_iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = HeaderField;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = HeaderField;
        const_iterator() = default;
        HeaderField operator*() const { return owner_->field(*slot_); }
        const_iterator& operator++() {
            ++slot_;
            return *this;
        }
        const_iterator operator++(int) {
            const_iterator before = *this;
            ++slot_;
            return before;
        }
        bool operator==(const const_iterator& other) const { return slot_ == other.slot_; }

    private:
        friend class Headers;
        const_iterator(const Headers* owner, const Slot* slot) : owner_(owner), slot_(slot) {}
        const Headers* owner_ = nullptr;
        const Slot* slot_ = nullptr;
    };
    const_iterator begin() const { return {this, slots_.data()}; }
    const_iterator end() const { return {this, slots_.data() + slots_.size()}; }

private:
    HeaderField field(const Slot& s) const {
        const char* base = text_.get() + s.at;
        return {std::string_view(base, s.name_size), std::string_view(base + s.name_size, s.value_size)};
    }
    // Capacity for at least `bytes`, contents kept. Returns the block it replaced, if any:
    // add() copies from views that may point into it before letting it go.
    std::unique_ptr<char[]> reserve_text(std::size_t bytes);

    std::unique_ptr<char[]> text_;  // text_size_ bytes used of text_capacity_
    std::size_t text_size_ = 0;
    std::size_t text_capacity_ = 0;
    std::vector<Slot> slots_;
};

}  // namespace llmgw
