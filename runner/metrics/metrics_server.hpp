#pragma once

// The metrics endpoint (--metrics): a small HTTP/1.1 server on the daemon's loop that answers GET /metrics with
// the Prometheus text format and GET /ready with whether the daemon is serving. It lives beside the services and
// must never disturb them: the request head is bounded, each connection has a deadline, the clients are capped,
// and one request is answered per connection ("Connection: close"), so nothing a client does accumulates.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include <cppd/address.hpp>
#include <cppd/endpoint.hpp>
#include <cppd/listening_port.hpp>
#include <cppd/reactor.hpp>

#include "metrics/metric_sample.hpp"

namespace cppd::runner {

struct MetricsSettings {
  Endpoint endpoint;                          // a unix: socket without mode= is made 0600, as the control socket
  std::optional<uid_t> owner = std::nullopt;  // a unix: socket is chowned to these (the post-drop user)
  std::optional<gid_t> group = std::nullopt;
  std::size_t maxHead = 8192;                 // bytes of request line and headers; more is answered 431
  std::chrono::milliseconds deadline{5000};   // per connection, from accept to the end of the answer's sending
  std::size_t maxClients = 64;                // more are closed at once
};

class MetricsServer {
 public:
  /// Listens on settings.endpoint. Throws cppd::Error naming the endpoint and the errno text ("metrics endpoint:
  /// listen tcp:9100:interface=127.0.0.1: address already in use (EADDRINUSE)"); nothing is left open then.
  /// A unix: socket gets mode 0600 unless the endpoint gives mode=, and settings' owner and group: scrapes are
  /// for the user the daemon runs as (and root), as cppdctl's are.
  MetricsServer(Reactor& reactor, const IMetricsSource& source, MetricsSettings settings);
  /// Stops listening and closes the clients.
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  /// What the socket is bound to (the real port when port 0 was asked for).
  Address address() const { return port_.getHost(); }

 private:
  class Factory;
  std::shared_ptr<Factory> factory_;
  ListeningPort port_;
};

}  // namespace cppd::runner
