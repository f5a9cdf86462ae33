// An ordered list of HTTP header fields with case-insensitive lookup. Order and the
// client's spelling are kept, because proxies must not reorder what they relay.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace llmgw {

struct HeaderField {
    std::string name;
    std::string value;
};

class Headers {
public:
    Headers() = default;
    Headers(std::initializer_list<HeaderField> fields) : fields_(fields) {}

    void add(std::string_view name, std::string_view value) {
        fields_.push_back({std::string(name), std::string(value)});
    }
    // Replaces every field of that name with one field (appended if absent).
    void set(std::string_view name, std::string_view value);
    void remove(std::string_view name);
    bool contains(std::string_view name) const { return find(name) != nullptr; }
    // First value of that name, or nullptr.
    const std::string* find(std::string_view name) const;
    std::optional<std::string_view> get(std::string_view name) const {
        const std::string* v = find(name);
        if (!v) return std::nullopt;
        return std::string_view(*v);
    }

    const std::vector<HeaderField>& fields() const { return fields_; }
    std::vector<HeaderField>& fields() { return fields_; }
    std::size_t size() const { return fields_.size(); }
    bool empty() const { return fields_.empty(); }
    auto begin() const { return fields_.begin(); }
    auto end() const { return fields_.end(); }
    void reserve(std::size_t n) { fields_.reserve(n); }

private:
    std::vector<HeaderField> fields_;
};

}  // namespace llmgw
