#include "routing/decision.hpp"

namespace llmgw::routing {

std::string_view to_string(Lane lane) {
    switch (lane) {
        case Lane::edge:
            return "edge";
        case Lane::background:
            return "background";
    }
    return "edge";
}

std::string_view to_string(Rule rule) {
    switch (rule) {
        case Rule::method:
            return "method";
        case Rule::stream:
            return "stream";
        case Rule::long_running:
            return "long";
        case Rule::large:
            return "large";
        case Rule::default_rule:
            return "default";
    }
    return "default";
}

}  // namespace llmgw::routing
