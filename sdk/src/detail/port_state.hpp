#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <cppd/address.hpp>
#include <cppd/completion.hpp>
#include <cppd/factory.hpp>
#include <cppd/reactor.hpp>

namespace cppd::detail {

class ListeningPort;
class StreamConnection;

/// What one listening port shares with its connections and its service: the factory, the session counter, the
/// open connections, and the stop that completes when the listener and the last connection have closed. Held by
/// std::shared_ptr, so connections left over from a stop outlive the listener and the service. Loop thread only.
class PortState {
 public:
  PortState(Reactor& reactor, std::shared_ptr<Factory> factory, std::string description, Address bound);
  PortState(const PortState&) = delete;
  PortState& operator=(const PortState&) = delete;

  Reactor& reactor() const noexcept { return reactor_; }
  Factory& factory() const noexcept { return *factory_; }
  const std::string& factoryPrefix() const noexcept { return factoryPrefix_; }
  /// "" or "ecstasy:": the log context the port was opened in (a named service of a deployment file), put in
  /// front of the factory's and every connection's context so their lines say which service they belong to.
  const std::string& contextPrefix() const noexcept { return contextPrefix_; }
  void tagWith(std::string_view serviceContext);
  const std::string& description() const noexcept { return description_; }
  const Address& bound() const noexcept { return bound_; }
  /// The third part of a connection's log context for UNIX connections, whose peers have no host.
  const std::string& unixLabel() const noexcept { return bound_.path(); }

  std::uint64_t nextSession() noexcept { return session_++; }
  std::size_t connectionCount() const noexcept { return count_; }

  /// The listener while it is open; it clears this when it closes (also when the reactor closes it).
  ListeningPort* listener = nullptr;

  void add(StreamConnection& connection) noexcept;
  void remove(StreamConnection& connection) noexcept;
  void listenerClosed() noexcept;

  /// Logs "(TCP Port N Closed)", asks every connection to loseConnection(), and returns the completion that
  /// fires (after factory.doStop()) once the listener and every connection have closed. Idempotent.
  Completion beginStop() noexcept;

 private:
  void maybeFinish() noexcept;

  Reactor& reactor_;
  std::shared_ptr<Factory> factory_;
  std::string factoryPrefix_;
  std::string contextPrefix_;
  std::string description_;
  Address bound_;
  std::uint64_t session_ = 0;
  StreamConnection* first_ = nullptr;  // intrusive list through StreamConnection::prev_/next_
  std::size_t count_ = 0;
  bool stopping_ = false;
  bool listening_ = true;
  Completion stopped_;
};

}  // namespace cppd::detail
