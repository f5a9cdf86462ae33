// Typed reading of TOML values with errors worded "FILE:LINE:COL: message" (STYLE habit 5).
#pragma once

#include "config/tomlpp.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/maybe_error.hpp"
#include "config/rules.hpp"

namespace llmgw::config {

// One key of a table being read: its key, its value and the table's name ("gateway",
// "services.openai"; empty for the top level), for error messages.
struct TomlField {
    const toml::key& key;
    const toml::node& node;
    std::string_view section;
};

class TomlReader {
  public:
    // `file` names the document in messages: a path or "services.toml (built-in)".
    explicit TomlReader(std::string file) : file_(std::move(file)) {}

    // "FILE:LINE:COL", where messages about what is written at `where` begin.
    std::string position(const toml::source_region& where) const;
    ConfigError error_at(const toml::source_region& where, std::string_view message) const;
    // "'port' in [gateway] must be an integer, not a string"
    ConfigError wrong_type(const TomlField& field, std::string_view expected) const;
    // "bad base_url 'ftp://x' in [services.x]: scheme must be http or https"
    ConfigError bad_value(const TomlField& field, std::string_view value,
                          std::string_view reason) const;
    ConfigError unknown_key(const TomlField& field) const;

    Result<std::string, ConfigError> string(const TomlField& field,
                                            const Convert& convert = {}) const;
    Result<bool, ConfigError> boolean(const TomlField& field) const;
    Result<std::int64_t, ConfigError> integer(const TomlField& field, std::int64_t min,
                                              std::int64_t max) const;
    // An array of strings, each passed through `convert` when given.
    Result<std::vector<std::string>, ConfigError> strings(const TomlField& field,
                                                          const Convert& convert = {}) const;

  private:
    std::string file_;
};

// Applies one key to the settings being built.
using TomlSetter = std::function<MaybeError(const TomlField&)>;

struct TomlKey {
    std::string_view name;
    TomlSetter set;
};

// Passes every key of `table` to the setter of the same name; a key without one is an error.
MaybeError apply_table(const TomlReader& reader, const toml::table& table, std::string_view section,
                       const std::vector<TomlKey>& keys);

// Setters that store a checked value into `out` (which must outlive the setter).
TomlSetter set_string(const TomlReader& reader, std::string& out, Convert convert = {});
TomlSetter set_strings(const TomlReader& reader, std::vector<std::string>& out,
                       Convert convert = {});
TomlSetter set_bool(const TomlReader& reader, bool& out);

template <class Int>  // an integer type or std::optional of one
TomlSetter set_integer(const TomlReader& reader, Int& out, std::int64_t min, std::int64_t max) {
    return [&reader, &out, min, max](const TomlField& field) -> MaybeError {
        auto value = reader.integer(field, min, max);
        if (!value) return value.error();
        out = static_cast<Int>(*value);
        return std::nullopt;
    };
}

}  // namespace llmgw::config
