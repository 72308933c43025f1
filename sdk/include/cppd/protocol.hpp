#pragma once

#include <string>
#include <string_view>

#include <cppd/export.hpp>
#include <cppd/transport.hpp>

namespace cppd {

namespace detail {
struct ProtocolAccess;
}

/// Why a connection ended (Twisted's ConnectionDone and ConnectionLost failures).
struct DisconnectReason {
  /// True for an orderly end: loseConnection() after flushing, or the peer's end of stream.
  bool clean = true;
  /// "Connection was closed cleanly.", or what went wrong, e.g. "Connection to the other side was lost in a
  /// non-clean fashion: connection reset by peer (ECONNRESET)."
  std::string message = "Connection was closed cleanly.";
};

/// The per-connection handler a Factory builds (Twisted's Protocol). Subclasses override the event methods.
///
/// Thread affinity: every method is called on the loop thread, inside the connection's log context
/// ("[PoetryProtocol,3,127.0.0.1]"). Order: makeConnection -> connectionMade -> dataReceived* -> connectionLost,
/// exactly once each for connectionMade and connectionLost. An exception thrown by an event method is logged
/// and aborts the connection; it never reaches the loop.
class CPPD_API Protocol {
 public:
  Protocol();
  virtual ~Protocol();
  Protocol(const Protocol&) = delete;
  Protocol& operator=(const Protocol&) = delete;

  /// Attaches the transport and calls connectionMade(). Called by the SDK (or by tests with a fake transport).
  void makeConnection(ITransport& transport);

  /// The connection is up; the transport is usable. Default: nothing.
  virtual void connectionMade();

  /// Bytes arrived. TCP is a stream: data may come in any split, down to one byte at a time. Default: nothing.
  virtual void dataReceived(std::string_view data);

  /// The connection has ended; the transport is still readable here (getPeer) and detached afterwards.
  /// Default: nothing.
  virtual void connectionLost(const DisconnectReason& reason);

  /// The service this connection belongs to is stopping (its stopService() was called: the process is shutting
  /// down, or an old generation of workers is draining). The connection may finish what is in flight and close
  /// itself when done; it is closed anyway once the runner's --shutdown-timeout has passed (see stopDeadline).
  /// Called once, only while connected. Default: transport().loseConnection(), which sends what is queued and
  /// closes: a protocol with nothing to finish needs no override.
  virtual void stopRequested();

  /// The stop's deadline has come: the connection will be closed very soon whatever it does (after a short,
  /// bounded moment for what it writes now to leave). The place for a last word to the client, such as an
  /// FTP 421. Called at most once, only while connected and after stopRequested(). Default: nothing.
  virtual void stopDeadline();

  /// The transport. Throws std::logic_error when not connected (before makeConnection, after connectionLost).
  ITransport& transport() const;

  /// True between makeConnection() and the end of connectionLost().
  bool connected() const noexcept { return transport_ != nullptr; }

  /// The first part of the connection's log context. Default: the class name without namespaces
  /// ("PoetryProtocol").
  virtual std::string logPrefix() const;

 private:
  friend struct detail::ProtocolAccess;
  ITransport* transport_ = nullptr;
};

}  // namespace cppd
