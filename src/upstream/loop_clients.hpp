// The upstream clients of one event loop: the libcurl multi handle and the native HTTP/1.1
// connection pool. An attempt runs on whichever fits its URL (make_attempt).
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>

#include "upstream/attempt.hpp"
#include "upstream/curl_multi.hpp"
#include "upstream/h1_pool.hpp"
#include "upstream/h1_url.hpp"

namespace llmgw::upstream {

struct LoopClients {
    explicit LoopClients(boost::asio::io_context& context) : io(context), curl(context), h1(context) {}
    boost::asio::io_context& io;
    CurlMulti curl;
    H1Pool h1;
};

// The native client's view of `url`, or nothing when libcurl carries it: any URL but plain
// http, a proxy named by the environment, or LLMGW_UPSTREAM_CLIENT=curl.
std::optional<H1Target> native_target(std::string_view url);

// A new attempt at `request` (not started). `native` comes from native_target().
std::shared_ptr<Attempt> make_attempt(LoopClients& clients, const std::optional<H1Target>& native,
                                      const UpstreamRequest& request, AttemptOwner& owner);

}  // namespace llmgw::upstream
