#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <cppd/address.hpp>
#include <cppd/completion.hpp>
#include <cppd/endpoint.hpp>
#include <cppd/export.hpp>
#include <cppd/factory.hpp>
#include <cppd/reactor.hpp>
#include <cppd/service.hpp>

namespace cppd {

/// A service that listens on an endpoint and hands each accepted connection to a protocol built by factory
/// (Twisted's StreamServerEndpointService made by strports.service).
///
/// - privilegedStartService() binds and listens (startService() does it if that has not happened), so ports
///   below 1024 work before the runner drops privileges. Failures throw cppd::Error naming the endpoint and the
///   errno text: "listen tcp:8000:interface=127.0.0.1: address already in use (EADDRINUSE)". It then logs
///   "PoetryFactory starting on 43211" with the port actually bound.
/// - stopService() stops accepting, logs "(TCP Port 43211 Closed)", tells every open connection's protocol
///   stopRequested() (by default it loses the connection; pending writes are still sent: a stop never cuts a
///   poem short, and a protocol may finish the request in flight first), and returns a completion that fires
///   once the last connection has closed. The runner bounds the wait with its shutdown timeout, at which it
///   calls stopDeadline().
/// - Running out of file descriptors (EMFILE/ENFILE) pauses accepting, is logged once per episode, and is
///   retried with a growing delay; pending clients wait in the backlog.
///
/// Thread affinity: loop thread (or the runner's main thread before the loop runs). Destroying a listening
/// service closes the port; connections in flight finish on their own.
class CPPD_API StreamServerService : public Service {
 public:
  StreamServerService(Endpoint endpoint, std::shared_ptr<Factory> factory, Reactor& reactor = globalReactor());
  ~StreamServerService() override;

  void privilegedStartService() override;
  void startService() override;
  Completion stopService() override;

  /// The stop's deadline has come (the runner's --shutdown-timeout passed, or a second stop signal): tells every
  /// connection still open its protocol's stopDeadline(), a last chance to say goodbye before the runner closes
  /// it. Does nothing unless stopService() was called.
  void stopDeadline();

  const Endpoint& endpoint() const noexcept;
  const std::shared_ptr<Factory>& factory() const noexcept;

  /// What the port is bound to while listening (the real port when the endpoint asked for port 0).
  std::optional<Address> boundAddress() const;

  /// Connections accepted and not yet closed (including ones left over from a stop still draining).
  std::size_t connectionCount() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cppd
