#include "config/toml_reader.hpp"

#include <algorithm>
#include <limits>

#include "util/redact.hpp"

namespace llmgw::config {
namespace {

std::string_view type_name(toml::node_type type) {
    switch (type) {
        case toml::node_type::table:
            return "a table";
        case toml::node_type::array:
            return "an array";
        case toml::node_type::string:
            return "a string";
        case toml::node_type::integer:
            return "an integer";
        case toml::node_type::floating_point:
            return "a floating-point number";
        case toml::node_type::boolean:
            return "a boolean";
        case toml::node_type::date:
            return "a date";
        case toml::node_type::time:
            return "a time";
        case toml::node_type::date_time:
            return "a date-time";
        case toml::node_type::none:
            break;
    }
    return "nothing";
}

std::string in_section(std::string_view section) {
    if (section.empty()) return "at the top level";
    return "in [" + std::string(section) + "]";
}

std::string range_text(std::int64_t min, std::int64_t max) {
    if (max == std::numeric_limits<std::int64_t>::max()) return "at least " + std::to_string(min);
    return "between " + std::to_string(min) + " and " + std::to_string(max);
}

}  // namespace

std::string TomlReader::position(const toml::source_region& where) const {
    return file_ + ":" + std::to_string(where.begin.line) + ":" +
           std::to_string(where.begin.column);
}

ConfigError TomlReader::error_at(const toml::source_region& where, std::string_view message) const {
    return {position(where) + ": " + std::string(message)};
}

ConfigError TomlReader::wrong_type(const TomlField& field, std::string_view expected) const {
    return error_at(field.node.source(), "'" + std::string(field.key.str()) + "' " +
                                             in_section(field.section) + " must be " +
                                             std::string(expected) + ", not " +
                                             std::string(type_name(field.node.type())));
}

ConfigError TomlReader::bad_value(const TomlField& field, std::string_view value,
                                  std::string_view reason) const {
    // A header's value may be a key (Authorization = "Bearer sk-…"): not repeated. Nor is the
    // user info of a URL.
    if (field.section.ends_with(".headers")) {
        return error_at(field.node.source(), "bad value of header '" + printable(field.key.str()) +
                                                 "' " + in_section(field.section) + ": " +
                                                 std::string(reason));
    }
    if (field.key.str() == "api_key_prefix") {  // "Bearer " and the like, or a key by mistake
        return error_at(field.node.source(), "bad api_key_prefix " + in_section(field.section) +
                                                 ": " + std::string(reason));
    }
    return error_at(field.node.source(), "bad " + std::string(field.key.str()) + " '" +
                                             printable(redact_userinfo_in_message(value)) + "' " +
                                             in_section(field.section) + ": " +
                                             std::string(reason));
}

ConfigError TomlReader::unknown_key(const TomlField& field) const {
    return error_at(field.key.source(), "unknown key '" + printable(field.key.str()) + "' " +
                                            in_section(field.section));
}

Result<std::string, ConfigError> TomlReader::string(const TomlField& field,
                                                    const Convert& convert) const {
    const auto* value = field.node.as_string();
    if (!value) return unexpected(wrong_type(field, "a string"));
    if (!convert) return value->get();
    auto converted = convert(value->get());
    if (!converted) return unexpected(bad_value(field, value->get(), converted.error()));
    return std::move(*converted);
}

Result<bool, ConfigError> TomlReader::boolean(const TomlField& field) const {
    const auto* value = field.node.as_boolean();
    if (!value) return unexpected(wrong_type(field, "true or false"));
    return value->get();
}

Result<std::int64_t, ConfigError> TomlReader::integer(const TomlField& field, std::int64_t min,
                                                      std::int64_t max) const {
    const auto* value = field.node.as_integer();
    if (!value) return unexpected(wrong_type(field, "an integer"));
    const std::int64_t number = value->get();
    if (number < min || number > max) {
        return unexpected(error_at(field.node.source(), "'" + std::string(field.key.str()) + "' " +
                                                            in_section(field.section) +
                                                            " must be " + range_text(min, max)));
    }
    return number;
}

Result<std::vector<std::string>, ConfigError> TomlReader::strings(const TomlField& field,
                                                                  const Convert& convert) const {
    const auto* array = field.node.as_array();
    if (!array) return unexpected(wrong_type(field, "an array of strings"));
    std::vector<std::string> out;
    for (const toml::node& element : *array) {
        const TomlField item{field.key, element, field.section};
        if (!element.is_string()) return unexpected(wrong_type(item, "an array of strings"));
        auto text = string(item, convert);
        if (!text) return unexpected(text.error());
        out.push_back(std::move(*text));
    }
    return out;
}

MaybeError apply_table(const TomlReader& reader, const toml::table& table, std::string_view section,
                       const std::vector<TomlKey>& keys) {
    for (auto&& [key, node] : table) {
        const TomlField field{key, node, section};
        const std::string_view wanted = key.str();  // bindings are not captured (clang < 16)
        const auto known = std::find_if(keys.begin(), keys.end(),
                                        [wanted](const TomlKey& k) { return k.name == wanted; });
        if (known == keys.end()) return reader.unknown_key(field);
        if (auto error = known->set(field)) return error;
    }
    return std::nullopt;
}

TomlSetter set_string(const TomlReader& reader, std::string& out, Convert convert) {
    return [&reader, &out, convert = std::move(convert)](const TomlField& field) -> MaybeError {
        auto value = reader.string(field, convert);
        if (!value) return value.error();
        out = std::move(*value);
        return std::nullopt;
    };
}

TomlSetter set_strings(const TomlReader& reader, std::vector<std::string>& out, Convert convert) {
    return [&reader, &out, convert = std::move(convert)](const TomlField& field) -> MaybeError {
        auto value = reader.strings(field, convert);
        if (!value) return value.error();
        out = std::move(*value);
        return std::nullopt;
    };
}

TomlSetter set_bool(const TomlReader& reader, bool& out) {
    return [&reader, &out](const TomlField& field) -> MaybeError {
        auto value = reader.boolean(field);
        if (!value) return value.error();
        out = *value;
        return std::nullopt;
    };
}

}  // namespace llmgw::config
