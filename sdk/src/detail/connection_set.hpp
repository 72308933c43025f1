#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include <cppd/address.hpp>
#include <cppd/reactor.hpp>

#include "detail/metric_service.hpp"

namespace cppd::detail {

class StreamConnection;

/// The open connections that came from one place (a listening port, or one connectTCP), with what they share:
/// the reactor, the session counter and the front of their log context. Each connection holds it by
/// std::shared_ptr, joins in its constructor and leaves in its close callback, so the set outlives the listener
/// and the service that made it. Loop thread only.
class ConnectionSet {
 public:
  /// contextPrefix: "" or "ecstasy:", the named service the connections belong to. local: the address a
  /// connection reports as getHost() once its socket is gone.
  ConnectionSet(Reactor& reactor, std::string contextPrefix, Address local);
  ConnectionSet(const ConnectionSet&) = delete;
  ConnectionSet& operator=(const ConnectionSet&) = delete;

  Reactor& reactor() const noexcept { return reactor_; }
  const std::string& contextPrefix() const noexcept { return contextPrefix_; }
  const Address& local() const noexcept { return local_; }
  /// The third part of a connection's log context for UNIX connections, whose peers have no host.
  const std::string& unixLabel() const noexcept { return local_.path(); }

  std::uint64_t nextSession() noexcept { return session_++; }
  /// The service's series these connections count into (sinks for connections a plugin made).
  const ServiceMetrics& metrics() const noexcept { return metrics_; }
  void setMetrics(ServiceMetrics metrics) noexcept { metrics_ = metrics; }
  std::size_t size() const noexcept { return count_; }

  void add(StreamConnection& connection) noexcept;
  void remove(StreamConnection& connection) noexcept;

  /// Tells every open connection's protocol stopRequested() (by default it loses the connection); connections
  /// leave the set later, from their close callbacks, never during this call.
  void stopAll() noexcept;
  /// Tells every connection still open that was told stopRequested() its protocol's stopDeadline().
  void stopDeadlineAll() noexcept;

  /// Runs callback (once) when the set is empty: now if it is, else when the last connection leaves.
  void whenEmpty(std::function<void()> callback) noexcept;

 private:
  void notifyIfEmpty() noexcept;

  Reactor& reactor_;
  std::string contextPrefix_;
  Address local_;
  std::uint64_t session_ = 0;
  StreamConnection* first_ = nullptr;  // intrusive list through StreamConnection::prev_/next_
  std::size_t count_ = 0;
  std::function<void()> whenEmpty_;
  ServiceMetrics metrics_;
};

}  // namespace cppd::detail
