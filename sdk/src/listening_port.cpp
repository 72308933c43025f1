#include <cppd/listening_port.hpp>

#include <stdexcept>
#include <utility>

#include <cppd/log.hpp>

#include "detail/listen_socket.hpp"
#include "detail/listening_port.hpp"
#include "detail/port_state.hpp"
#include "detail/reactor_impl.hpp"

namespace cppd {

struct ListeningPort::Impl {
  std::shared_ptr<detail::PortState> port;
  std::shared_ptr<Factory> factory;
  bool factoryStarted = false;

  ~Impl() { stop(); }

  void stop() noexcept {
    if (port && port->listener != nullptr) {
      port->listener->close();
      if (factory->noisy()) detail::runGuarded("log port closed", [this] {
        if (port->bound().isTcp()) {
          log::info("(TCP Port {} Closed)", port->bound().port());
        } else {
          log::info("(UNIX Port {} Closed)", port->bound().path());
        }
      });
    }
    if (factoryStarted) {
      factoryStarted = false;
      factory->doStop();
    }
  }
};

ListeningPort::ListeningPort() = default;
ListeningPort::ListeningPort(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
ListeningPort::~ListeningPort() = default;
ListeningPort::ListeningPort(ListeningPort&& other) noexcept = default;
ListeningPort& ListeningPort::operator=(ListeningPort&& other) noexcept = default;

Address ListeningPort::getHost() const { return impl_ ? impl_->port->bound() : Address(); }

void ListeningPort::stopListening() noexcept {
  if (impl_) impl_->stop();
}

bool ListeningPort::listening() const noexcept { return impl_ && impl_->port->listener != nullptr; }

std::size_t ListeningPort::connectionCount() const noexcept {
  return impl_ ? impl_->port->connectionCount() : 0;
}

ListeningPort listen(const Endpoint& endpoint, std::shared_ptr<Factory> factory, Reactor& reactor) {
  if (!factory) throw std::invalid_argument("cppd::listen: the factory is null");
  detail::ListenSocket socket = detail::openListenSocket(endpoint);
  auto impl = std::make_unique<ListeningPort::Impl>();
  impl->factory = factory;
  impl->port = std::make_shared<detail::PortState>(reactor, std::move(factory), endpoint.toString(), socket.bound);
  const Address bound = socket.bound;
  detail::ListeningPort::start(std::move(socket), impl->port);  // closes the socket itself if it throws
  if (!impl->factory->noisy()) {
    // Quiet: the factory was made for one request, its port is not worth a line.
  } else if (bound.isTcp()) {
    log::info("{} starting on {}", impl->port->factoryPrefix(), bound.port());
  } else {
    log::info("{} starting on '{}'", impl->port->factoryPrefix(), bound.path());
  }
  impl->factory->doStart();  // on a throw, ~Impl closes the listener
  impl->factoryStarted = true;
  return ListeningPort(std::move(impl));
}

}  // namespace cppd
