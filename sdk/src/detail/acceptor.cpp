#include "detail/acceptor.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include <cppd/log.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "detail/process_role.hpp"
#include "detail/socket_address.hpp"
#include "detail/stream_connection.hpp"

namespace cppd::detail {
namespace {

// Connections accepted per readiness event, so one busy port cannot starve the rest of the loop.
constexpr int kAcceptBatch = 256;
constexpr std::chrono::milliseconds kFirstBackoff{10};
constexpr std::chrono::milliseconds kMaxBackoff{1000};

bool transient(int error) { return error == EINTR || error == ECONNABORTED || error == EPROTO || error == EPERM; }

}  // namespace

Acceptor* Acceptor::start(ListenSocket socket, std::shared_ptr<PortState> state) {
  Reactor& reactor = state->reactor();
  const int fd = socket.fd;
  auto* port = new Acceptor(std::move(socket), std::move(state));
  int status = uv_poll_init(uvLoop(reactor), &port->poll_, fd);
  if (status != 0) {
    closeListenSocket(port->socket_);
    const std::string target = port->state_->description();
    delete port;  // never initialised, so libuv does not know it
    throw uvError("listen", target, status);
  }
  port->poll_.data = static_cast<LoopHandle*>(port);
  port->state_->listener = port;
  status = uv_poll_start(&port->poll_, UV_READABLE, &Acceptor::onReadable);
  if (status != 0) {
    const std::string target = port->state_->description();
    port->close();
    throw uvError("listen", target, status);
  }
  return port;
}

Acceptor::Acceptor(ListenSocket socket, std::shared_ptr<PortState> state)
    : LoopHandle(state->reactor()), socket_(std::move(socket)), state_(std::move(state)), backoff_(kFirstBackoff) {}

Acceptor::~Acceptor() = default;

void Acceptor::onClose() noexcept {
  // Stop polling before the descriptor goes, then release it at once so the address can be bound again.
  uv_poll_stop(&poll_);
  retry_.cancel();
  closeListenSocket(socket_);
  state_->listenerClosed();
}

void Acceptor::onReadable(uv_poll_t* poll, int status, int) noexcept {
  auto& self = static_cast<Acceptor&>(*static_cast<LoopHandle*>(poll->data));
  runGuarded("accept", [&self, status] {
    if (status < 0) {
      self.pause(-status);
      return;
    }
    self.acceptBatch();
  });
}

void Acceptor::acceptBatch() {
  for (int i = 0; i < kAcceptBatch && !closing(); ++i) {
    if (acceptsExhausted()) {
      uv_poll_stop(&poll_);  // this worker is done accepting: the queue is left to the others
      return;
    }
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    const int fd = ::accept4(socket_.fd, reinterpret_cast<sockaddr*>(&peer), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) return;
      if (transient(error)) continue;
      pause(error);
      return;
    }
    if (pausedLogged_) {
      pausedLogged_ = false;
      log::info("accepting connections on {} again", state_->description());
    }
    backoff_ = kFirstBackoff;
    ++acceptedTotal;
    handOver(fd, addressFromSockaddr(peer, length));
  }
}

void Acceptor::handOver(int fd, Address peer) {
  posix::UniqueFd socket(fd);  // closed unless a protocol takes it
  std::shared_ptr<Protocol> protocol;
  {
    LogContext context(state_->factoryPrefix());
    runGuarded("buildProtocol", [&] { protocol = state_->factory().buildProtocol(peer); });
  }
  if (!protocol) return;  // refused by the factory
  StreamConnection::start(state_->connections(), socket.release(), std::move(peer), std::move(protocol));
}

void Acceptor::pause(int error) {
  uv_poll_stop(&poll_);
  if (!pausedLogged_) {
    pausedLogged_ = true;
    const int status = -error;
    LogContext context(state_->factoryPrefix());
    log::error("accept on {} failed: {} ({}); pausing accepts and retrying with backoff (logged once until an "
               "accept succeeds)",
               state_->description(), uv_strerror(status), uv_err_name(status));
  }
  retry_ = state_->reactor().callLater(backoff_, [this] { resume(); });
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void Acceptor::resume() {
  if (closing()) return;
  const int status = uv_poll_start(&poll_, UV_READABLE, &Acceptor::onReadable);
  if (status != 0) pause(-status);
}

}  // namespace cppd::detail
