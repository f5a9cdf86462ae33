// Which headers cross the gateway, in each direction (SPEC §5). Shared by serve and call.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/service.hpp"
#include "util/headers.hpp"

namespace llmgw::routing {

// Headers to send upstream: the client's, minus hop-by-hop and identity-leaking ones, plus
// the service's defaults the client did not send, User-Agent when absent, and X-Request-Id.
Headers upstream_request_headers(const Headers& client, const config::Service& service,
                                 std::string_view request_id);

// True when a response header from upstream must not reach the client.
bool is_dropped_response_header(std::string_view name);

// Hop-by-hop per RFC 9110 §7.6.1 (Connection, Keep-Alive, TE, …).
bool is_hop_by_hop(std::string_view name);

// The field names a message's Connection fields list (RFC 9110 §7.6.1): hop-by-hop too.
// Gathered once per message (one pass over the fields; nothing allocated without a Connection
// field) and looked up by binary search, so that a head of thousands of fields and options
// costs n log n, not n squared.
class ConnectionOptions {
public:
    explicit ConnectionOptions(const Headers& fields);
    bool lists(std::string_view name) const;

private:
    std::vector<std::string> names_;  // lower case, sorted
};

}  // namespace llmgw::routing
