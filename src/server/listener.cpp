#include "server/listener.hpp"

#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "server/session.hpp"
#include "util/log.hpp"

namespace llmgw::server {

namespace asio = boost::asio;
using asio::ip::tcp;

Listener::Listener(std::vector<std::unique_ptr<Loop>>& loops) : loops_(loops) {}

Result<std::unique_ptr<Listener>> Listener::open(std::vector<std::unique_ptr<Loop>>& loops,
                                                 const std::string& host, std::uint16_t port) {
    auto listener = std::make_unique<Listener>(loops);
    boost::system::error_code ec;
    tcp::resolver resolver(loops.front()->io);
    const auto results = resolver.resolve(host, std::to_string(port),
                                          tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) return unexpected("cannot resolve '" + host + "': " + ec.message());
    const tcp::endpoint endpoint = *results.begin();
    auto first = std::make_unique<LoopAcceptor>(LoopAcceptor{*loops.front(), tcp::acceptor(loops.front()->io)});
    auto& a = first->acceptor;
    a.open(endpoint.protocol(), ec);
    if (ec) return unexpected(ec.message());
    a.set_option(tcp::acceptor::reuse_address(true), ec);
    a.bind(endpoint, ec);
    if (ec) return unexpected(ec.message());
    a.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return unexpected(ec.message());
    a.non_blocking(true, ec);  // accept_pending() takes a backlog without blocking
    if (ec) return unexpected(ec.message());
    listener->acceptors_.push_back(std::move(first));
    // The other loops wait on duplicates of the same listening socket, in their own reactors.
    for (std::size_t i = 1; i < loops.size(); ++i) {
        const int fd = ::dup(a.native_handle());
        if (fd < 0) return unexpected(std::string("cannot share the listening socket: ") + std::strerror(errno));
        auto other = std::make_unique<LoopAcceptor>(LoopAcceptor{*loops[i], tcp::acceptor(loops[i]->io)});
        other->acceptor.assign(endpoint.protocol(), fd, ec);
        if (ec) {
            ::close(fd);
            return unexpected(ec.message());
        }
        other->acceptor.non_blocking(true, ec);  // Asio's own flag: the descriptor already is
        if (ec) return unexpected(ec.message());
        listener->acceptors_.push_back(std::move(other));
    }
    return listener;
}

void Listener::start() {
    for (auto& a : acceptors_) {
        asio::post(a->loop.io, [this, acceptor = a.get()] { accept_next(*acceptor); });
    }
}

void Listener::stop() {
    for (auto& a : acceptors_) {
        asio::post(a->loop.io, [acceptor = a.get()] {
            boost::system::error_code ignored;
            acceptor->acceptor.close(ignored);
        });
    }
}

std::string Listener::address() const {
    boost::system::error_code ec;
    const auto ep = acceptors_.front()->acceptor.local_endpoint(ec);
    if (ec) return "?";
    const std::string host = ep.address().is_v6() ? "[" + ep.address().to_string() + "]"
                                                  : ep.address().to_string();
    return host + ":" + std::to_string(ep.port());
}

bool Listener::is_loopback() const {
    boost::system::error_code ec;
    const auto ep = acceptors_.front()->acceptor.local_endpoint(ec);
    return !ec && ep.address().is_loopback();
}

void Listener::accept_next(LoopAcceptor& a) {
    a.acceptor.async_accept(a.loop.io, [this, &a](const boost::system::error_code& ec,
                                                  tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !a.acceptor.is_open()) return;
        if (!ec) {
            serve(a.loop, std::move(socket));
            accept_pending(a);
        } else {
            log_accept_failure(ec);
        }
        accept_next(a);
    });
}

// A burst of clients (a batch of streams opened at once) waits in the backlog: take a batch
// now rather than one connection per turn of the loop, as nginx's multi_accept does. Another
// loop woken by the same burst takes its share meanwhile.
void Listener::accept_pending(LoopAcceptor& a) {
    for (int i = 0; i < kAcceptBatch; ++i) {
        tcp::socket socket(a.loop.io);
        boost::system::error_code ec;
        a.acceptor.accept(socket, ec);
        if (ec) {
            if (ec != asio::error::would_block && ec != asio::error::try_again) log_accept_failure(ec);
            return;
        }
        serve(a.loop, std::move(socket));
    }
}

void Listener::log_accept_failure(const boost::system::error_code& ec) {
    if (log_enabled(LogLevel::warn)) {
        log_line(LogLevel::warn, "", "accept failed", {log_str("reason", ec.message())});
    }
}

void Listener::serve(Loop& loop, tcp::socket socket) {
    const auto& g = loop.shared.config->gateway;
    if (loop.shared.connections.load(std::memory_order_relaxed) >= g.max_connections) {
        log_line(LogLevel::warn, "", "connection limit reached, closing new connection",
                 {log_num("max_connections", g.max_connections)});
        return;  // the socket closes here
    }
    std::make_shared<Session>(std::move(socket), loop)->start();
}

}  // namespace llmgw::server
