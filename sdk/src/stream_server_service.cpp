#include <cppd/stream_server_service.hpp>

#include <csignal>
#include <stdexcept>
#include <utility>

#include <cppd/log.hpp>

#include "detail/listen_socket.hpp"
#include "detail/listening_port.hpp"
#include "detail/port_state.hpp"

namespace cppd {

struct StreamServerService::Impl {
  Impl(Endpoint endpoint_, std::shared_ptr<Factory> factory_, Reactor& reactor_)
      : endpoint(std::move(endpoint_)), factory(std::move(factory_)), reactor(reactor_) {}

  bool listening() const noexcept { return port && port->listener != nullptr; }
  void listen();
  Completion stop() noexcept;

  Endpoint endpoint;
  std::shared_ptr<Factory> factory;
  Reactor& reactor;
  std::shared_ptr<detail::PortState> port;  // the current port, or the last one (still draining, maybe)
};

namespace {

// libuv writes with write(2)/writev(2), so a write to a connection the peer has closed raises SIGPIPE, whose
// default action kills the process: one client hanging up would take the server down. The runner ignores SIGPIPE
// at start-up; this covers programs that embed the SDK without it (tests, tools), as gRPC and Node do. A handler
// the program installed itself is left alone.
void ignoreSigpipeUnlessHandled() noexcept {
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

void StreamServerService::Impl::listen() {
  if (listening()) return;
  ignoreSigpipeUnlessHandled();
  detail::ListenSocket socket = detail::openListenSocket(endpoint);
  auto state = std::make_shared<detail::PortState>(reactor, factory, endpoint.toString(), socket.bound);
  // Listening inside a named service's context (a deployment file's [[service]]): tag its lines with the name.
  if (const std::string_view context = LogContext::current(); context != "-") state->tagWith(context);
  const Address bound = socket.bound;
  detail::ListeningPort::start(std::move(socket), state);  // closes the socket itself if it throws
  port = std::move(state);
  if (!factory->noisy()) {
    // Quiet factory: no line for its port.
  } else if (bound.isTcp()) {
    log::info("{} starting on {}", port->factoryPrefix(), bound.port());
  } else {
    log::info("{} starting on '{}'", port->factoryPrefix(), bound.path());
  }
  try {
    factory->doStart();
  } catch (...) {
    port->listener->close();
    port->beginStop();
    throw;
  }
}

Completion StreamServerService::Impl::stop() noexcept {
  if (!port) return Completion::done();
  if (port->listener != nullptr) port->listener->close();
  return port->beginStop();
}

StreamServerService::StreamServerService(Endpoint endpoint, std::shared_ptr<Factory> factory, Reactor& reactor) {
  if (!factory) throw std::invalid_argument("StreamServerService: the factory is null");
  impl_ = std::make_unique<Impl>(std::move(endpoint), std::move(factory), reactor);
}

StreamServerService::~StreamServerService() {
  // The port belongs to the loop; closing it here lets connections in flight finish on their own.
  if (impl_->listening()) impl_->stop();
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
  return impl_->stop();
}

const Endpoint& StreamServerService::endpoint() const noexcept { return impl_->endpoint; }

const std::shared_ptr<Factory>& StreamServerService::factory() const noexcept { return impl_->factory; }

std::optional<Address> StreamServerService::boundAddress() const {
  if (!impl_->listening()) return std::nullopt;
  return impl_->port->bound();
}

std::size_t StreamServerService::connectionCount() const noexcept {
  return impl_->port ? impl_->port->connectionCount() : 0;
}

}  // namespace cppd
