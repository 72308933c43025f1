#include <cppd/testing/string_transport.hpp>

#include <stdexcept>
#include <utility>

#include "detail/protocol_access.hpp"

namespace cppd::testing {

StringTransport::StringTransport(Address peer, Address host) : peer_(std::move(peer)), host_(std::move(host)) {}

StringTransport::~StringTransport() = default;

void StringTransport::connect(Protocol& protocol) {
  if (wasConnected_) throw std::logic_error("StringTransport::connect: a protocol is already connected");
  protocol_ = &protocol;
  wasConnected_ = true;
  protocol.makeConnection(*this);
}

void StringTransport::receive(std::string_view data, std::size_t chunk) {
  if (chunk == 0) chunk = data.size();
  for (std::size_t at = 0; at < data.size() && reading(); at += chunk) {
    protocol_->dataReceived(data.substr(at, chunk));
  }
}

void StringTransport::disconnect(const DisconnectReason& reason) {
  if (protocol_ == nullptr) return;
  Protocol& protocol = *std::exchange(protocol_, nullptr);
  waiting_.clear();  // the SDK's connections drop them too: the connection will never drain
  // Detached even when connectionLost throws, as the SDK does, so the protocol never sees a dead transport.
  struct Detach {
    Protocol& protocol;
    ~Detach() { detail::ProtocolAccess::detach(protocol); }
  } detach{protocol};
  protocol.connectionLost(reason);
}

void StringTransport::stallPeer(std::size_t window) noexcept {
  stalled_ = true;
  window_ = window;
  unread_ = 0;
}

void StringTransport::peerReads() {
  unread_ = 0;
  std::vector<std::function<void()>> callbacks = std::exchange(waiting_, {});
  for (auto& callback : callbacks) callback();
}

void StringTransport::unstallPeer() {
  stalled_ = false;
  peerReads();
}

void StringTransport::write(std::string_view data) {
  value_ += data;
  if (disconnecting_ || writeClosed_ || aborted_) writtenAfterClose_ += data.size();
  if (stalled_) unread_ += data.size();
}

void StringTransport::writeShared(std::shared_ptr<const std::string> data) {
  if (data) write(*data);
}

void StringTransport::writeSequence(const std::vector<std::string_view>& pieces) {
  for (std::string_view piece : pieces) write(piece);
}

void StringTransport::loseConnection() { disconnecting_ = true; }

void StringTransport::loseWriteConnection() { writeClosed_ = true; }

void StringTransport::abortConnection() { aborted_ = true; }

std::size_t StringTransport::bufferedBytes() const { return unread_ > window_ ? unread_ - window_ : 0; }

void StringTransport::whenDrained(std::function<void()> callback) {
  if (!callback) return;
  if (bufferedBytes() == 0) {
    callback();
    return;
  }
  waiting_.push_back(std::move(callback));
}

bool StringTransport::connected() const {
  return protocol_ != nullptr && !disconnecting_ && !writeClosed_ && !aborted_;
}

}  // namespace cppd::testing
