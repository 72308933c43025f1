#include <cppd/stream_server_service.hpp>

#include <stdexcept>
#include <string_view>
#include <utility>

#include <cppd/listening_port.hpp>
#include <cppd/log.hpp>

#include "detail/listening_port_access.hpp"

namespace cppd {

// The service is a ListeningPort opened at start (cppd::listen) and drained at stop.
struct StreamServerService::Impl {
  Impl(Endpoint endpoint_, std::shared_ptr<Factory> factory_, Reactor& reactor_)
      : endpoint(std::move(endpoint_)), factory(std::move(factory_)), reactor(reactor_) {}

  void listen();

  Endpoint endpoint;
  std::shared_ptr<Factory> factory;
  Reactor& reactor;
  ListeningPort port;  // the current port, or the last one (its connections may still be draining)
};

void StreamServerService::Impl::listen() {
  if (port.listening()) return;
  // Listening inside a named service's context (a deployment file's [[service]]): tag its lines with the name.
  const std::string_view context = LogContext::current();
  const std::string_view service = context == "-" ? std::string_view() : context;
  port = detail::ListeningPortAccess::open(endpoint, factory, reactor, service);
  detail::ListeningPortAccess::countAsService(port, service);  // before the loop runs: no connection missed
}

StreamServerService::StreamServerService(Endpoint endpoint, std::shared_ptr<Factory> factory, Reactor& reactor) {
  if (!factory) throw std::invalid_argument("StreamServerService: the factory is null");
  impl_ = std::make_unique<Impl>(std::move(endpoint), std::move(factory), reactor);
}

StreamServerService::~StreamServerService() {
  // The port belongs to the loop; closing it here lets connections in flight finish on their own.
  if (impl_->port.listening()) detail::ListeningPortAccess::stopAndDrain(impl_->port);
}

void StreamServerService::privilegedStartService() {
  Service::privilegedStartService();
  impl_->listen();
}

void StreamServerService::startService() {
  impl_->listen();
  Service::startService();
}

Completion StreamServerService::stopService() {
  Service::stopService();
  return detail::ListeningPortAccess::stopAndDrain(impl_->port);
}

void StreamServerService::stopDeadline() { detail::ListeningPortAccess::stopDeadline(impl_->port); }

const Endpoint& StreamServerService::endpoint() const noexcept { return impl_->endpoint; }

const std::shared_ptr<Factory>& StreamServerService::factory() const noexcept { return impl_->factory; }

std::optional<Address> StreamServerService::boundAddress() const {
  if (!impl_->port.listening()) return std::nullopt;
  return impl_->port.getHost();
}

std::size_t StreamServerService::connectionCount() const noexcept { return impl_->port.connectionCount(); }

}  // namespace cppd
