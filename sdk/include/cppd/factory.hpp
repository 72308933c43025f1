#pragma once

#include <memory>
#include <string>

#include <cppd/address.hpp>
#include <cppd/export.hpp>
#include <cppd/protocol.hpp>

namespace cppd {

namespace detail {
struct FactoryAccess;
}

/// Builds a Protocol for each accepted connection (Twisted's ServerFactory).
///
/// Thread affinity: loop thread only (startFactory may run on the runner's main thread before the loop runs).
/// One factory may serve several listening ports: startFactory runs when the first starts listening and
/// stopFactory when the last has stopped (Twisted's doStart/doStop counting).
class CPPD_API Factory {
 public:
  Factory();
  virtual ~Factory();
  Factory(const Factory&) = delete;
  Factory& operator=(const Factory&) = delete;

  /// A protocol for a connection from addr, or nullptr to refuse it (the connection is closed at once).
  /// Runs in the factory's log context ("[PoetryFactory]"). An exception is logged and refuses the connection.
  virtual std::shared_ptr<Protocol> buildProtocol(const Address& addr) = 0;

  /// Called before the first port starts listening. Default: nothing. May throw cppd::Error to fail the start.
  virtual void startFactory();

  /// Called after the last port has stopped and its connections have closed. Default: nothing. Must not throw.
  virtual void stopFactory();

  /// The factory's log context and its name in "PoetryFactory starting on 10000". Default: the class name
  /// without namespaces.
  virtual std::string logPrefix() const;

  /// How many ports currently use this factory.
  int numPorts() const noexcept { return numPorts_; }

  /// Whether the factory's life is logged (Twisted's Factory.noisy): "Starting factory X", "Stopping factory X",
  /// and its listening ports' "X starting on N" and "(TCP Port N Closed)". Default true. A factory made for one
  /// client request (an FTP data connection) turns it off, so that a client cannot make the log grow by several
  /// lines for every command it sends. Set it before the factory is first used.
  bool noisy() const noexcept { return noisy_; }
  void setNoisy(bool noisy) noexcept { noisy_ = noisy; }

 private:
  friend struct detail::FactoryAccess;
  /// Called by the SDK's ports and connectors (through detail::FactoryAccess): counts them, logging "Starting
  /// factory X" and calling startFactory() on the first; "Stopping factory X" and stopFactory() after the last.
  /// doStop() never throws.
  void doStart();
  void doStop() noexcept;

  int numPorts_ = 0;
  bool noisy_ = true;
};

}  // namespace cppd
