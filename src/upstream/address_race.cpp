#include "upstream/address_race.hpp"

#include <utility>

namespace llmgw::upstream {

using boost::system::error_code;

std::shared_ptr<AddressRace> AddressRace::start(boost::asio::io_context& io,
                                                std::vector<tcp::endpoint> addresses, Done done) {
    auto race = std::make_shared<AddressRace>(io, std::move(addresses), std::move(done));
    race->try_next();
    return race;
}

AddressRace::AddressRace(boost::asio::io_context& io, std::vector<tcp::endpoint> addresses,
                         Done done)
    : io_(io), addresses_(std::move(addresses)), next_timer_(io), done_(std::move(done)) {}

void AddressRace::cancel() {
    done_ = nullptr;
    next_timer_.cancel();
    error_code ignored;
    for (const auto& socket : tries_) socket->close(ignored);
}

void AddressRace::try_next() {
    if (tries_.size() == addresses_.size()) return;  // a timer that fired as the last try began
    const std::size_t index = tries_.size();
    tries_.push_back(std::make_unique<tcp::socket>(io_));
    // The handler never touches the socket: it may have been closed (a try that lost) or moved
    // out (the winner) by the time an aborted completion runs.
    tries_.back()->async_connect(
        addresses_[index],
        [self = shared_from_this(), index](const error_code& ec) { self->on_result(index, ec); });
    if (tries_.size() == addresses_.size()) return;
    // A cancelled expiry may already be queued: the count of tries tells it from this one.
    next_timer_.expires_after(kNextAddressAfter);
    next_timer_.async_wait([weak = weak_from_this(), tries = tries_.size()](const error_code& ec) {
        const auto self = weak.lock();
        if (ec || !self || !self->done_ || self->tries_.size() != tries) return;
        self->try_next();
    });
}

void AddressRace::on_result(std::size_t index, const error_code& ec) {
    if (!done_) return;  // decided already, or cancelled
    if (!ec) {
        next_timer_.cancel();
        error_code ignored;
        for (std::size_t i = 0; i < tries_.size(); ++i) {
            if (i != index) tries_[i]->close(ignored);
        }
        const Done done = std::exchange(done_, nullptr);
        done(ec, std::move(*tries_[index]), addresses_[index]);
        return;
    }
    error_code ignored;
    tries_[index]->close(ignored);
    ++failed_;
    if (failed_ < tries_.size()) return;      // an earlier try is still going
    if (tries_.size() < addresses_.size()) {  // every try so far failed: the next one now
        next_timer_.cancel();
        try_next();
        return;
    }
    const Done done = std::exchange(done_, nullptr);
    done(ec, tcp::socket(io_), addresses_[index]);
}

}  // namespace llmgw::upstream
