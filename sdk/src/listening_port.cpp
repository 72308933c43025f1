#include <cppd/listening_port.hpp>

#include <csignal>
#include <stdexcept>
#include <utility>

#include <cppd/log.hpp>

#include "detail/acceptor.hpp"
#include "detail/listen_socket.hpp"
#include "detail/listening_port_access.hpp"
#include "detail/port_state.hpp"

namespace cppd {

struct ListeningPort::Impl {
  std::shared_ptr<detail::PortState> port;

  ~Impl() { port->stopListening(); }
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

void logStarting(const detail::PortState& port) {
  if (!port.factory().noisy()) return;  // a factory made for one request: its port is not worth a line
  if (port.bound().isTcp()) {
    log::info("{} starting on {}", port.factoryPrefix(), port.bound().port());
  } else {
    log::info("{} starting on '{}'", port.factoryPrefix(), port.bound().path());
  }
}

}  // namespace

ListeningPort::ListeningPort() = default;
ListeningPort::ListeningPort(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
ListeningPort::~ListeningPort() = default;
ListeningPort::ListeningPort(ListeningPort&& other) noexcept = default;
ListeningPort& ListeningPort::operator=(ListeningPort&& other) noexcept = default;

Address ListeningPort::getHost() const { return impl_ ? impl_->port->bound() : Address(); }

void ListeningPort::stopListening() noexcept {
  if (impl_) impl_->port->stopListening();
}

bool ListeningPort::listening() const noexcept { return impl_ && impl_->port->listening(); }

std::size_t ListeningPort::connectionCount() const noexcept {
  return impl_ ? impl_->port->connections()->size() : 0;
}

ListeningPort listen(const Endpoint& endpoint, std::shared_ptr<Factory> factory, Reactor& reactor) {
  return detail::ListeningPortAccess::open(endpoint, std::move(factory), reactor, {});
}

namespace detail {

ListeningPort ListeningPortAccess::open(const Endpoint& endpoint, std::shared_ptr<Factory> factory, Reactor& reactor,
                                        std::string_view serviceContext) {
  if (!factory) throw std::invalid_argument("cppd::listen: the factory is null");
  ignoreSigpipeUnlessHandled();
  ListenSocket socket = openListenSocket(endpoint);
  auto impl = std::make_unique<ListeningPort::Impl>();
  const Address bound = socket.bound;
  impl->port = std::make_shared<PortState>(reactor, std::move(factory), endpoint.toString(), bound, serviceContext);
  Acceptor::start(std::move(socket), impl->port);  // closes the socket itself if it throws
  logStarting(*impl->port);
  impl->port->startFactory();  // on a throw, ~Impl closes the acceptor
  return ListeningPort(std::move(impl));
}

void ListeningPortAccess::stopDeadline(ListeningPort& port) noexcept {
  if (port.impl_) port.impl_->port->stopDeadline();
}

void ListeningPortAccess::countAsService(ListeningPort& port, std::string_view serviceContext) noexcept {
  if (port.impl_) port.impl_->port->connections()->setMetrics(ServiceMetrics::forService(serviceContext));
}

Completion ListeningPortAccess::stopAndDrain(ListeningPort& port) noexcept {
  if (!port.impl_) return Completion::done();
  return port.impl_->port->beginStop();
}

}  // namespace detail
}  // namespace cppd
