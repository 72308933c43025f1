#include "detail/port_state.hpp"

#include <utility>

#include <cppd/log.hpp>

#include "detail/acceptor.hpp"
#include "detail/factory_access.hpp"
#include "detail/reactor_impl.hpp"

namespace cppd::detail {
namespace {

std::string prefixFor(std::string_view serviceContext) {
  return serviceContext.empty() ? std::string() : std::string(serviceContext) + ":";
}

}  // namespace

PortState::PortState(Reactor& reactor, std::shared_ptr<Factory> factory, std::string description, Address bound,
                     std::string_view serviceContext)
    : factory_(std::move(factory)),
      factoryPrefix_(prefixFor(serviceContext) + factory_->logPrefix()),
      description_(std::move(description)),
      connections_(std::make_shared<ConnectionSet>(reactor, prefixFor(serviceContext), std::move(bound))) {}

void PortState::listenerClosed() noexcept {
  listener = nullptr;
  maybeFinish();
}

void PortState::startFactory() {
  FactoryAccess::doStart(*factory_);
  factoryStarted_ = true;
}

void PortState::stopFactory() noexcept {
  if (!std::exchange(factoryStarted_, false)) return;
  FactoryAccess::doStop(*factory_);
}

// Logs before it closes: with no connection open, the close finishes the stop at once ("Stopping factory"), and
// twistd's order is "(TCP Port N Closed)", then "Stopping factory".
void PortState::closeListener() noexcept {
  if (!std::exchange(closedLogged_, true) && factory_->noisy()) {
    runGuarded("log port closed", [this] {
      if (bound().isTcp()) {
        log::info("(TCP Port {} Closed)", bound().port());
      } else {
        log::info("(UNIX Port {} Closed)", bound().path());
      }
    });
  }
  if (listener != nullptr) listener->close();
}

void PortState::stopListening() noexcept {
  closeListener();
  if (!draining_) stopFactory();
}

Completion PortState::beginStop() noexcept {
  if (draining_) return stopped_;
  draining_ = true;
  closeListener();
  connections_->stopAll();
  // Keeps this port alive until the completion has fired, even if the last connection closes in this call.
  Completion stopped = stopped_;
  runGuarded("port stop", [this] { connections_->whenEmpty([self = shared_from_this()] { self->maybeFinish(); }); });
  return stopped;
}

void PortState::stopDeadline() noexcept {
  if (draining_) connections_->stopDeadlineAll();
}

void PortState::maybeFinish() noexcept {
  if (!draining_ || listener != nullptr || connections_->size() != 0 || stopped_.fired()) return;
  stopFactory();
  runGuarded("port stop completion", [this] { stopped_.succeed(); });
}

}  // namespace cppd::detail
