#include "detail/port_state.hpp"

#include <utility>

#include <cppd/log.hpp>

#include "detail/reactor_impl.hpp"
#include "detail/stream_connection.hpp"

namespace cppd::detail {

PortState::PortState(Reactor& reactor, std::shared_ptr<Factory> factory, std::string description, Address bound)
    : reactor_(reactor),
      factory_(std::move(factory)),
      factoryPrefix_(factory_->logPrefix()),
      description_(std::move(description)),
      bound_(std::move(bound)) {}

void PortState::tagWith(std::string_view serviceContext) {
  contextPrefix_ = std::string(serviceContext) + ":";
  factoryPrefix_ = contextPrefix_ + factory_->logPrefix();
}

void PortState::add(StreamConnection& connection) noexcept {
  connection.next_ = first_;
  if (first_ != nullptr) first_->prev_ = &connection;
  first_ = &connection;
  ++count_;
}

void PortState::remove(StreamConnection& connection) noexcept {
  if (connection.prev_ != nullptr) {
    connection.prev_->next_ = connection.next_;
  } else {
    first_ = connection.next_;
  }
  if (connection.next_ != nullptr) connection.next_->prev_ = connection.prev_;
  connection.prev_ = connection.next_ = nullptr;
  --count_;
  maybeFinish();
}

void PortState::listenerClosed() noexcept {
  listener = nullptr;
  listening_ = false;
  maybeFinish();
}

Completion PortState::beginStop() noexcept {
  if (stopping_) return stopped_;
  stopping_ = true;
  if (factory_->noisy()) runGuarded("log port closed", [this] {
    if (bound_.isTcp()) {
      log::info("(TCP Port {} Closed)", bound_.port());
    } else {
      log::info("(UNIX Port {} Closed)", bound_.path());
    }
  });
  // loseConnection() only starts closing; connections leave the list in their close callbacks, later.
  for (StreamConnection* connection = first_; connection != nullptr; connection = connection->next_) {
    connection->loseConnection();
  }
  // Keeps this state alive until the completion has fired, even if the last connection closes in this call.
  Completion stopped = stopped_;
  maybeFinish();
  return stopped;
}

void PortState::maybeFinish() noexcept {
  if (!stopping_ || listening_ || count_ != 0 || stopped_.fired()) return;
  factory_->doStop();
  runGuarded("port stop completion", [this] { stopped_.succeed(); });
}

}  // namespace cppd::detail
