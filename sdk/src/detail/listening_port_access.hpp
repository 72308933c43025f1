#pragma once

#include <memory>
#include <string_view>

#include <cppd/completion.hpp>
#include <cppd/endpoint.hpp>
#include <cppd/factory.hpp>
#include <cppd/listening_port.hpp>
#include <cppd/reactor.hpp>

namespace cppd::detail {

/// The SDK's side door into ListeningPort, for StreamServerService, which is built on it: opening a port inside a
/// named service's log context, and the service's stop, which also closes the accepted connections.
struct ListeningPortAccess {
  /// cppd::listen(), with every log line of the port and its connections prefixed by "<serviceContext>:" when
  /// serviceContext is not empty.
  static ListeningPort open(const Endpoint& endpoint, std::shared_ptr<Factory> factory, Reactor& reactor,
                            std::string_view serviceContext);

  /// Stops listening, tells every accepted connection's protocol stopRequested() (by default it loses the
  /// connection), and returns the completion that fires (after factory.doStop()) once the last has closed. An
  /// empty port gives a completion that has fired.
  static Completion stopAndDrain(ListeningPort& port) noexcept;
  /// After stopAndDrain: tells every connection still open its protocol's stopDeadline().
  static void stopDeadline(ListeningPort& port) noexcept;

  /// A service's port counts its connections into the service's series (metric_service.hpp); a port a plugin
  /// or the runner opened with cppd::listen counts nowhere.
  static void countAsService(ListeningPort& port, std::string_view serviceContext) noexcept;
};

}  // namespace cppd::detail
