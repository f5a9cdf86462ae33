#include "server/listener.hpp"

#include <boost/asio/post.hpp>

#include "server/session.hpp"
#include "util/log.hpp"

namespace llmgw::server {

namespace asio = boost::asio;
using asio::ip::tcp;

Listener::Listener(std::vector<std::unique_ptr<Loop>>& loops)
    : loops_(loops), acceptor_(loops.front()->io) {}

Result<std::unique_ptr<Listener>> Listener::open(std::vector<std::unique_ptr<Loop>>& loops,
                                                 const std::string& host, std::uint16_t port) {
    auto listener = std::make_unique<Listener>(loops);
    boost::system::error_code ec;
    tcp::resolver resolver(loops.front()->io);
    const auto results = resolver.resolve(host, std::to_string(port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) return unexpected("cannot resolve '" + host + "': " + ec.message());
    const tcp::endpoint endpoint = *results.begin();
    auto& a = listener->acceptor_;
    a.open(endpoint.protocol(), ec);
    if (ec) return unexpected(ec.message());
    a.set_option(tcp::acceptor::reuse_address(true), ec);
    a.bind(endpoint, ec);
    if (ec) return unexpected(ec.message());
    a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return unexpected(ec.message());
    a.non_blocking(true, ec);  // accept_pending() takes the backlog without blocking
    if (ec) return unexpected(ec.message());
    return listener;
}

void Listener::start() { accept_next(); }

void Listener::stop() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

std::string Listener::address() const {
    boost::system::error_code ec;
    const auto ep = acceptor_.local_endpoint(ec);
    if (ec) return "?";
    const std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]"
                                                  : ep.address().to_string();
    return host + ":" + std::to_string(ep.port());
}

bool Listener::is_loopback() const {
    boost::system::error_code ec;
    const auto ep = acceptor_.local_endpoint(ec);
    return !ec && ep.address().is_loopback();
}

void Listener::accept_next() {
    Loop& target = *loops_[next_loop_];
    acceptor_.async_accept(target.io, [this, &target](const boost::system::error_code& ec,
                                                      tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        if (!ec) {
            next_loop_ = (next_loop_ + 1) % loops_.size();
            hand_off(target, std::move(socket));
            accept_pending();
        } else if (log_enabled(LogLevel::warn)) {
            log_line(LogLevel::warn, "", "accept failed", {log_str("reason", ec.message())});
        }
        accept_next();
    });
}

// A burst of clients (a batch of streams opened at once) waits in the backlog: take what is
// there now rather than one connection per turn of the loop, as nginx's multi_accept does.
void Listener::accept_pending() {
    for (int i = 0; i < kAcceptBatch; ++i) {
        Loop& target = *loops_[next_loop_];
        tcp::socket socket(target.io);
        boost::system::error_code ec;
        acceptor_.accept(socket, ec);
        if (ec) {
            if (ec != asio::error::would_block && ec != asio::error::try_again &&
                log_enabled(LogLevel::warn)) {
                log_line(LogLevel::warn, "", "accept failed", {log_str("reason", ec.message())});
            }
            return;
        }
        next_loop_ = (next_loop_ + 1) % loops_.size();
        hand_off(target, std::move(socket));
    }
}

void Listener::hand_off(Loop& target, tcp::socket socket) {
    const auto& g = target.shared.config->gateway;
    if (target.shared.connections.load(std::memory_order_relaxed) >= g.max_connections) {
        log_line(LogLevel::warn, "", "connection limit reached, closing new connection",
                 {log_num("max_connections", g.max_connections)});
        return;  // the socket closes here
    }
    asio::post(target.io, [&target, s = std::move(socket)]() mutable {
        std::make_shared<Session>(std::move(s), target)->start();
    });
}

}  // namespace llmgw::server
