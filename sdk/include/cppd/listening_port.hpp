#pragma once

#include <cstddef>
#include <memory>

#include <cppd/address.hpp>
#include <cppd/endpoint.hpp>
#include <cppd/export.hpp>
#include <cppd/factory.hpp>
#include <cppd/reactor.hpp>

namespace cppd {

namespace detail {
struct ListeningPortAccess;
}

/// A port accepting connections for a factory, opened by cppd::listen() (Twisted's IListeningPort, as returned
/// by reactor.listenTCP). It is not a service: protocols use it for listeners that come and go with a session,
/// such as an FTP passive data port. A long-lived server port belongs in a StreamServerService instead.
///
/// - Each accepted connection gets a protocol from factory.buildProtocol(), as with StreamServerService, in
///   the log context "<Protocol>,<n>,<host>".
/// - stopListening() closes the listening socket at once (the port can be bound again right away) and calls
///   factory.doStop(). Connections already accepted are not touched: they live until they end on their own,
///   which is what Twisted's Port.stopListening does.
/// - Destroying a ListeningPort stops listening. Moving it moves the port.
///
/// Thread affinity: loop thread only. Nothing here throws except cppd::listen().
class CPPD_API ListeningPort {
 public:
  /// An object that listens on nothing (listening() is false).
  ListeningPort();
  ~ListeningPort();
  ListeningPort(ListeningPort&& other) noexcept;
  ListeningPort& operator=(ListeningPort&& other) noexcept;
  ListeningPort(const ListeningPort&) = delete;
  ListeningPort& operator=(const ListeningPort&) = delete;

  /// What the socket is bound to (the real port when port 0 was asked for). Stays valid after stopListening().
  Address getHost() const;

  /// Stops accepting; idempotent. Accepted connections carry on.
  void stopListening() noexcept;

  /// True from a successful listen() until stopListening() (or until the reactor closed the port).
  bool listening() const noexcept;

  /// Connections accepted through this port that have not closed yet.
  std::size_t connectionCount() const noexcept;

 private:
  friend struct detail::ListeningPortAccess;
  struct Impl;
  explicit ListeningPort(std::unique_ptr<Impl> impl) noexcept;

  std::unique_ptr<Impl> impl_;
};

/// Binds and listens on endpoint for factory (Twisted's reactor.listenTCP / endpoint.listen), calling
/// factory.doStart(), and logs "<Factory> starting on <port>" as twistd does. Throws cppd::Error naming the
/// endpoint and the errno text ("listen tcp:50000:interface=127.0.0.1: address already in use (EADDRINUSE)"),
/// or what doStart() threw; nothing is left open when it throws. Like the runner, it ignores SIGPIPE unless the
/// program handles it, so that a peer that hangs up cannot kill a program that embeds the SDK. Loop thread only.
CPPD_API ListeningPort listen(const Endpoint& endpoint, std::shared_ptr<Factory> factory,
                              Reactor& reactor = globalReactor());

}  // namespace cppd
