#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <cppd/address.hpp>
#include <cppd/completion.hpp>
#include <cppd/factory.hpp>
#include <cppd/reactor.hpp>

#include "detail/connection_set.hpp"

namespace cppd::detail {

class Acceptor;

/// One listening port: its factory, its acceptor while it listens, and the connections it accepted. Shared by
/// the public ListeningPort (which a StreamServerService holds too) and the acceptor; the connections hold only
/// the ConnectionSet. Loop thread only.
///
/// Two ways to stop: stopListening() closes the acceptor and stops the factory at once, leaving accepted
/// connections to end on their own (Twisted's Port.stopListening, for cppd::listen); beginStop() also tells every
/// connection's protocol stopRequested() and stops the factory once the last has closed (a service's
/// stopService); stopDeadline() then tells the connections still open that the stop's time is up.
class PortState : public std::enable_shared_from_this<PortState> {
 public:
  /// serviceContext: the log context the port is opened in when it belongs to a named service ("ecstasy"), put in
  /// front of the factory's and every connection's context; "" otherwise.
  PortState(Reactor& reactor, std::shared_ptr<Factory> factory, std::string description, Address bound,
            std::string_view serviceContext);
  PortState(const PortState&) = delete;
  PortState& operator=(const PortState&) = delete;

  Reactor& reactor() const noexcept { return connections_->reactor(); }
  Factory& factory() const noexcept { return *factory_; }
  const std::string& factoryPrefix() const noexcept { return factoryPrefix_; }
  const std::string& description() const noexcept { return description_; }
  const Address& bound() const noexcept { return connections_->local(); }
  const std::shared_ptr<ConnectionSet>& connections() const noexcept { return connections_; }

  /// The acceptor while it is open; it clears this when it closes (also when the reactor closes it).
  Acceptor* listener = nullptr;
  bool listening() const noexcept { return listener != nullptr; }
  void listenerClosed() noexcept;

  /// factory.doStart(), remembered so that the matching doStop() runs once.
  void startFactory();
  /// Closes the acceptor, logs "(TCP Port N Closed)" (once per port) and, unless beginStop() is draining the
  /// connections, calls factory.doStop(). Idempotent.
  void stopListening() noexcept;
  /// Closes the acceptor, logs "(TCP Port N Closed)", tells every connection's protocol stopRequested() (by
  /// default: loseConnection), and returns the completion that fires (after factory.doStop()) once the acceptor
  /// and every connection have closed. Idempotent.
  Completion beginStop() noexcept;
  /// After beginStop(): tells every connection still open its protocol's stopDeadline(). Otherwise nothing.
  void stopDeadline() noexcept;

 private:
  void closeListener() noexcept;
  void stopFactory() noexcept;
  void maybeFinish() noexcept;

  std::shared_ptr<Factory> factory_;
  std::string factoryPrefix_;
  std::string description_;
  std::shared_ptr<ConnectionSet> connections_;
  bool factoryStarted_ = false;
  bool closedLogged_ = false;
  bool draining_ = false;
  Completion stopped_;
};

}  // namespace cppd::detail
