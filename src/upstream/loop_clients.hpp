// The upstream clients of one event loop: the native HTTP/1.1 connection pool and the libcurl
// multi handle. An attempt runs on whichever fits its URL (make_attempt). libcurl is opened
// only when a request needs it (libcurl.hpp): `llmgw call` to an http:// upstream never loads
// it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>

#include "upstream/attempt.hpp"
#include "upstream/curl_multi.hpp"
#include "upstream/h1_pool.hpp"
#include "upstream/h1_url.hpp"

namespace llmgw::upstream {

class LoopClients {
public:
    LoopClients(boost::asio::io_context& context, PoolLimits pool)
        : io(context), names(context), h1(context, names, pool) {}
    boost::asio::io_context& io;
    HostLookup names;  // both clients' host name lookups and their answers
    H1Pool h1;
    H1TargetCache h1_targets;
    // The multi handle, made on first use (after load_libcurl()); null when libcurl could not
    // be opened.
    CurlMulti* curl();

private:
    std::unique_ptr<CurlMulti> curl_;
};

// Why LLMGW_UPSTREAM_CLIENT cannot be used (a value but native, curl or empty), for a
// configuration error at start; nothing when it can.
std::optional<std::string> upstream_client_setting_problem();

// Whether an upstream with this URL scheme ("http", "https") is carried by libcurl: any
// scheme but plain http, a proxy named by the environment, or LLMGW_UPSTREAM_CLIENT=curl.
bool needs_libcurl(std::string_view scheme);

// The native client's view of `url`, or nothing when libcurl carries it: any URL but plain
// http, a proxy named by the environment, or LLMGW_UPSTREAM_CLIENT=curl.
std::optional<H1Target> native_target(LoopClients& clients, std::string_view url);

// A new attempt at `request` (not started). `native` comes from native_target().
std::shared_ptr<Attempt> make_attempt(LoopClients& clients, const std::optional<H1Target>& native,
                                      const UpstreamRequest& request, AttemptOwner& owner);

}  // namespace llmgw::upstream
