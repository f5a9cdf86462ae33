#include "upstream/curl_multi.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <utility>

#include "upstream/libcurl.hpp"

namespace llmgw::upstream {

namespace asio = boost::asio;

namespace {

// The identity of the open file behind a descriptor number (a closed number is soon reused).
std::pair<dev_t, ino_t> file_of(curl_socket_t fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return {0, 0};
    return {st.st_dev, st.st_ino};
}

}  // namespace

struct CurlMulti::SocketWatch {
    SocketWatch(asio::io_context& io, curl_socket_t fd, std::uint64_t serial)
        : desc(io, fd), id(serial), file(file_of(fd)) {}
    asio::posix::stream_descriptor desc;  // never owns the fd: released before curl closes it
    std::uint64_t id;  // tells a reused fd number from the socket a handler was waiting on
    std::pair<dev_t, ino_t> file;  // what the number named when the watch began
    int what = CURL_POLL_NONE;
    bool read_waiting = false;
    bool write_waiting = false;
    bool idle = false;  // an HTTP/1 connection in libcurl's cache, watched by watch_idle()
    CURL* easy = nullptr;  // the transfer that last asked for the socket to be watched
};

CurlMulti::CurlMulti(asio::io_context& io) : io_(io), multi_(libcurl().multi_init()), timer_(io) {
    libcurl().multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &CurlMulti::on_socket);
    libcurl().multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    libcurl().multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &CurlMulti::on_timer);
    libcurl().multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

CurlMulti::~CurlMulti() {
    *alive_ = false;
    timer_.cancel();
    // Cleanup closes cached connections through on_close_socket, which still needs sockets_.
    libcurl().multi_cleanup(multi_);
    while (!sockets_.empty()) forget(sockets_.begin());
}

bool CurlMulti::add(CURL* easy, CurlCompletion* done) {
    libcurl().easy_setopt(easy, CURLOPT_PRIVATE, done);
    libcurl().easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &CurlMulti::on_close_socket);
    libcurl().easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
    if (libcurl().multi_add_handle(multi_, easy) != CURLM_OK) return false;
    ++running_;
    return true;
}

void CurlMulti::remove(CURL* easy) {
    if (libcurl().multi_remove_handle(multi_, easy) == CURLM_OK && running_ > 0) --running_;
}

void CurlMulti::kick() {
    if (kick_pending_) return;
    kick_pending_ = true;
    asio::post(io_, [this, alive = alive_] {
        if (!*alive) return;
        kick_pending_ = false;
        act(CURL_SOCKET_TIMEOUT, 0);
    });
}

int CurlMulti::on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void*) {
    auto* m = static_cast<CurlMulti*>(self);
    if (what == CURL_POLL_REMOVE) {
        m->unwatch(fd);
        return 0;
    }
    try {
        m->watch(fd, what, easy);
    } catch (...) {
        // The reactor would not take the socket (epoll's limits, no memory). An exception must
        // not unwind through libcurl's C frames; -1 fails the transfer (libcurl 7.88).
        return -1;
    }
    return 0;
}

int CurlMulti::on_timer(CURLM*, long timeout_ms, void* self) {
    auto* m = static_cast<CurlMulti*>(self);
    if (timeout_ms < 0) {
        m->timer_.cancel();
        return 0;
    }
    // curl must not be re-entered from its own callback: even a zero timeout goes through
    // the loop, as a plain post (no timer syscall).
    if (timeout_ms == 0) {
        m->timer_.cancel();
        m->kick();
        return 0;
    }
    m->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
    m->timer_.async_wait([m, alive = m->alive_](const boost::system::error_code& ec) {
        if (ec || !*alive) return;
        m->act(CURL_SOCKET_TIMEOUT, 0);
    });
    return 0;
}

int CurlMulti::on_close_socket(void* self, curl_socket_t fd) {
    auto* m = static_cast<CurlMulti*>(self);
    auto it = m->sockets_.find(fd);
    if (it != m->sockets_.end()) m->forget(it);
    return ::close(fd);
}

void CurlMulti::forget(Sockets::iterator it) {
    boost::system::error_code ignored;
    it->second->desc.cancel(ignored);
    (void)it->second->desc.release();  // deregisters without closing
    sockets_.erase(it);
}

void CurlMulti::watch(curl_socket_t fd, int what, CURL* easy) {
    auto it = sockets_.find(fd);
    if (it != sockets_.end() && it->second->what == CURL_POLL_NONE &&
        it->second->file != file_of(fd)) {
        // curl closed that number without its close-socket callback (the socketpair of its
        // threaded resolver, after CURL_POLL_REMOVE, whose watch is kept) and it now names a new
        // socket, which the reactor does not watch: start over, or its readiness is never seen.
        forget(it);
        it = sockets_.end();
    }
    if (it == sockets_.end()) {
        it = sockets_.emplace(fd, std::make_unique<SocketWatch>(io_, fd, ++next_socket_id_)).first;
    }
    if (it->second->idle) {  // in use again: its idle wait ends (operation_aborted)
        it->second->idle = false;
        boost::system::error_code ignored;
        it->second->desc.cancel(ignored);
    }
    it->second->what = what;
    it->second->easy = easy;
    arm(fd, *it->second);
}

void CurlMulti::unwatch(curl_socket_t fd) {
    auto it = sockets_.find(fd);
    if (it == sockets_.end()) return;
    it->second->what = CURL_POLL_NONE;
    boost::system::error_code ignored;
    it->second->desc.cancel(ignored);
}

// Asio's reactor is edge-triggered while curl expects level-triggered readiness. Before
// waiting, ask the kernel whether the socket is ready already; if so act on the next turn.
void CurlMulti::arm(curl_socket_t fd, SocketWatch& w) {
    const bool want_read = (w.what & CURL_POLL_IN) != 0 && !w.read_waiting;
    const bool want_write = (w.what & CURL_POLL_OUT) != 0 && !w.write_waiting;
    if (!want_read && !want_write) return;

    pollfd p{fd, static_cast<short>((want_read ? POLLIN : 0) | (want_write ? POLLOUT : 0)), 0};
    if (::poll(&p, 1, 0) > 0) {
        int bits = 0;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) bits |= CURL_CSELECT_IN;
        if (p.revents & POLLOUT) bits |= CURL_CSELECT_OUT;
        if (p.revents & POLLERR) bits |= CURL_CSELECT_ERR;
        if (bits != 0) {
            // Counted as waiting until the posted action runs, so it is not posted twice.
            w.read_waiting = w.read_waiting || want_read;
            w.write_waiting = w.write_waiting || want_write;
            asio::post(io_, [this, fd, bits, want_read, want_write, id = w.id, alive = alive_] {
                if (!*alive) return;
                auto it = sockets_.find(fd);
                if (it == sockets_.end() || it->second->id != id) return;
                if (want_read) it->second->read_waiting = false;
                if (want_write) it->second->write_waiting = false;
                act_and_rearm(fd, id, bits);
            });
            return;
        }
    }
    const auto on_ready = [this, fd, id = w.id, alive = alive_](int bit,
                                                                const boost::system::error_code& ec) {
        if (!*alive) return;
        auto it = sockets_.find(fd);
        if (it == sockets_.end() || it->second->id != id) return;
        SocketWatch& sw = *it->second;
        (bit == CURL_CSELECT_IN ? sw.read_waiting : sw.write_waiting) = false;
        if (ec) {
            arm(fd, sw);  // cancelled by a change of interest: wait again for what is wanted
            return;
        }
        act_and_rearm(fd, id, bit);
    };
    if (want_read) {
        w.read_waiting = true;
        w.desc.async_wait(asio::posix::stream_descriptor::wait_read,
                          [on_ready](const boost::system::error_code& ec) {
                              on_ready(CURL_CSELECT_IN, ec);
                          });
    }
    if (want_write) {
        w.write_waiting = true;
        w.desc.async_wait(asio::posix::stream_descriptor::wait_write,
                          [on_ready](const boost::system::error_code& ec) {
                              on_ready(CURL_CSELECT_OUT, ec);
                          });
    }
}

// curl only calls the socket callback when its interest changes, so after every action the
// socket is watched again for whatever curl still wants.
void CurlMulti::act_and_rearm(curl_socket_t fd, std::uint64_t id, int bits) {
    act(fd, bits);
    auto it = sockets_.find(fd);
    if (it != sockets_.end() && it->second->id == id) arm(fd, *it->second);
}

void CurlMulti::act(curl_socket_t fd, int bits) {
    int still_running = 0;
    acting_ = true;
    libcurl().multi_socket_action(multi_, fd, bits, &still_running);
    acting_ = false;
    drain_messages();
    run_after_action();
}

void CurlMulti::run_after_action() {
    if (after_action_.empty()) return;
    const auto ends = std::move(after_action_);
    after_action_.clear();
    for (const auto& end : ends) end();
}

void CurlMulti::drain_messages() {
    int left = 0;
    while (CURLMsg* msg = libcurl().multi_info_read(multi_, &left)) {
        if (msg->msg != CURLMSG_DONE) continue;
        CURL* easy = msg->easy_handle;
        const CURLcode result = msg->data.result;
        CurlCompletion* done = nullptr;
        libcurl().easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&done));
        if (result == CURLE_OK) watch_idle(easy);
        remove(easy);
        if (done) done->on_curl_done(result);
    }
}

// libcurl 7.88 reuses a cached connection whose socket is readable as long as a peek finds
// bytes there (only an EOF counts as a close), so an upstream's goodbye (408 then a close), or
// any answer nobody asked for, would be read as the next request's answer. The HTTP/1
// connection a transfer left in the cache is watched while idle: bytes or an EOF on it then
// are read away and the socket shut down, so libcurl's check finds it closed and connects
// anew. (An HTTP/2 connection may carry other transfers, paused ones among them: not watched.)
void CurlMulti::watch_idle(CURL* easy) {
    long version = 0;
    curl_socket_t fd = CURL_SOCKET_BAD;
    if (libcurl().easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version) != CURLE_OK ||
        (version != CURL_HTTP_VERSION_1_0 && version != CURL_HTTP_VERSION_1_1) ||
        libcurl().easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
        fd == CURL_SOCKET_BAD) {
        return;
    }
    // Another transfer that took the connection within the same action, even one paused
    // since (no interest now), asked for the socket last.
    auto it = sockets_.find(fd);
    if (it == sockets_.end() || it->second->what != CURL_POLL_NONE || it->second->idle ||
        it->second->easy != easy) {
        return;
    }
    it->second->idle = true;
    wait_while_idle(fd, *it->second);
}

void CurlMulti::wait_while_idle(curl_socket_t fd, SocketWatch& w) {
    w.desc.async_wait(asio::posix::stream_descriptor::wait_read,
                      [this, fd, id = w.id, alive = alive_](const boost::system::error_code& ec) {
                          if (ec || !*alive) return;
                          auto it = sockets_.find(fd);
                          if (it == sockets_.end() || it->second->id != id || !it->second->idle) {
                              return;
                          }
                          // The edge may be an old one (libcurl read the answer after a poll):
                          // only bytes or an EOF now count.
                          char byte = 0;
                          if (::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
                              (errno == EAGAIN || errno == EWOULDBLOCK)) {
                              wait_while_idle(fd, *it->second);
                              return;
                          }
                          it->second->idle = false;
                          char scratch[4096];
                          for (int reads = 0; reads < 64; ++reads) {
                              if (::recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) <= 0) break;
                          }
                          ::shutdown(fd, SHUT_RDWR);
                      });
}

}  // namespace llmgw::upstream
