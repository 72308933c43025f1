#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <cppd/address.hpp>
#include <cppd/export.hpp>
#include <cppd/factory.hpp>
#include <cppd/protocol.hpp>
#include <cppd/reactor.hpp>

namespace cppd {

namespace detail {
struct ConnectorAccess;
}

/// A factory for outgoing connections (Twisted's ClientFactory). buildProtocol() is called once the connection
/// is up, with the destination address; the protocol then sees connectionMade/dataReceived/connectionLost as a
/// server protocol does. Loop thread only.
class CPPD_API ClientFactory : public Factory {
 public:
  ClientFactory();
  ~ClientFactory() override;

  /// The attempt to reach destination failed: refused, unreachable, timed out, or stopConnecting() was called.
  /// Called once per failed attempt, on a later loop iteration than connectTCP(), in the factory's log context.
  /// Default: logs nothing and does nothing. An exception is logged and otherwise ignored.
  virtual void clientConnectionFailed(const Address& destination, const DisconnectReason& reason);
};

/// A pending or finished outgoing connection attempt (Twisted's IConnector). Copies refer to the same attempt.
/// Loop thread only; nothing here throws.
class CPPD_API Connector {
 public:
  Connector();
  ~Connector();
  Connector(const Connector&);
  Connector& operator=(const Connector&);

  /// Abandons the attempt if it is still connecting: the socket is closed and clientConnectionFailed() follows
  /// with "Connection was aborted: stopConnecting() was called.". Does nothing once connected or failed.
  void stopConnecting() noexcept;

  /// True until the connection is made or the attempt failed.
  bool connecting() const noexcept;

  /// Where the attempt goes.
  Address getDestination() const;

  struct State;  // defined in the SDK's sources

 private:
  friend struct detail::ConnectorAccess;
  explicit Connector(std::shared_ptr<State> state) noexcept;

  std::shared_ptr<State> state_;
};

/// Connects to host:port (Twisted's reactor.connectTCP) without blocking. host must be a numeric IPv4 or IPv6
/// address: names are not resolved here, because resolving would block the loop. On success the factory builds
/// the protocol (nullptr closes the connection at once); on failure, or when timeout passes first,
/// factory.clientConnectionFailed() is called on a later loop iteration. factory.doStart() runs now and
/// doStop() as soon as the attempt has ended (connected or failed); the connection itself carries on.
///
/// Throws cppd::UsageError when host is not a numeric address and std::invalid_argument for a null factory;
/// every failure of the attempt itself (even creating the socket) is reported through clientConnectionFailed.
/// Loop thread only.
CPPD_API Connector connectTCP(const std::string& host, std::uint16_t port, std::shared_ptr<ClientFactory> factory,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30),
                              Reactor& reactor = globalReactor());

}  // namespace cppd
