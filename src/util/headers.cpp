#include "util/headers.hpp"

#include <algorithm>

#include "util/strings.hpp"

namespace llmgw {

void Headers::set(std::string_view name, std::string_view value) {
    remove(name);
    add(name, value);
}

void Headers::remove(std::string_view name) {
    std::erase_if(fields_, [&](const HeaderField& f) { return str::iequals(f.name, name); });
}

const std::string* Headers::find(std::string_view name) const {
    for (const HeaderField& f : fields_) {
        if (str::iequals(f.name, name)) return &f.value;
    }
    return nullptr;
}

}  // namespace llmgw
