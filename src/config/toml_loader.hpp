// Applies one TOML document (the built-in table or a user file) over the settings built so far.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/maybe_error.hpp"
#include "config/toml_reader.hpp"

namespace llmgw::config {

// The built-in table's name in messages and in Service::aliases_at.
inline constexpr std::string_view kBuiltinFile = "services.toml (built-in)";

struct TomlSource {
    std::string file;    // for messages: a path, or "services.toml (built-in)"
    std::string origin;  // for Service::origin: the path, or "built-in"
};

// Merges `text` into `draft` field by field (SPEC §1). `draft.services` keeps disabled
// services (enabled = false) so that a later source can still refer to them.
MaybeError apply_toml(Config& draft, std::string_view text, const TomlSource& source);

// The [services] table: new services are added, known ones changed field by field.
MaybeError apply_services(const TomlReader& reader, const toml::table& services,
                          std::vector<Service>& table, const std::string& origin);

// "built-in" + "/x.toml" → "built-in + /x.toml" (once per source).
void add_origin(Service& service, const std::string& origin);

}  // namespace llmgw::config
