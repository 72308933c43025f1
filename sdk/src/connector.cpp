#include <cppd/connector.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "detail/connection_set.hpp"
#include "detail/factory_access.hpp"
#include "detail/reactor_impl.hpp"
#include "detail/stream_connection.hpp"

namespace cppd {
namespace detail {
class TcpConnector;
}

struct Connector::State {
  Address destination;
  detail::TcpConnector* pending = nullptr;  // the attempt while it is connecting
};

namespace detail {

/// The SDK's side door into Connector: making one for an attempt's shared state.
struct ConnectorAccess {
  static Connector make(std::shared_ptr<Connector::State> state) noexcept { return Connector(std::move(state)); }
};

/// One connection attempt: polls a non-blocking socket for writability, then hands the descriptor to a
/// StreamConnection (reusing the server side's transport) or reports the failure. Owned by the loop: close()
/// ends it and the close callback frees it.
class TcpConnector final : public LoopHandle {
 public:
  TcpConnector(Reactor& reactor, std::shared_ptr<Connector::State> state, std::shared_ptr<ClientFactory> factory)
      : LoopHandle(reactor), reactor_(reactor), state_(std::move(state)), factory_(std::move(factory)) {}

  ~TcpConnector() override = default;

  uv_handle_t* uvHandle() noexcept override { return reinterpret_cast<uv_handle_t*>(&poll_); }

  /// The poll handle to initialise (on the socket) before begin(); uv_poll_init must have succeeded.
  uv_poll_t* poll() noexcept { return &poll_; }
  /// Starts waiting for the connect on fd (whose ownership passes to this object), for at most timeout.
  void begin(int fd, std::chrono::milliseconds timeout);
  void fail(int status, const char* why) noexcept;

 private:
  void onClose() noexcept override;
  static void onWritable(uv_poll_t* poll, int status, int events) noexcept;
  void connected();

  Reactor& reactor_;
  std::shared_ptr<Connector::State> state_;
  std::shared_ptr<ClientFactory> factory_;
  uv_poll_t poll_{};
  posix::UniqueFd fd_;
  DelayedCall timeout_;
};

// Reports a failed attempt on a later loop iteration (never inside connectTCP), then stops the factory.
void reportFailure(Reactor& reactor, std::shared_ptr<ClientFactory> factory, Address destination,
                   std::string message) noexcept {
  runGuarded("connect failure", [&] {
    reactor.callLater(std::chrono::milliseconds(0), [factory, destination, message] {
      {
        LogContext context(factory->logPrefix());
        runGuarded("clientConnectionFailed",
                   [&] { factory->clientConnectionFailed(destination, DisconnectReason{false, message}); });
      }
      FactoryAccess::doStop(*factory);
    });
  });
}

std::string failureMessage(const char* why, const Address& destination, int status) {
  return fmt::format("{} to {} failed: {} ({}).", why, destination.toString(), uv_strerror(status),
                     uv_err_name(status));
}

void TcpConnector::begin(int fd, std::chrono::milliseconds timeout) {
  fd_.reset(fd);
  state_->pending = this;
  poll_.data = static_cast<LoopHandle*>(this);
  const int status = uv_poll_start(&poll_, UV_WRITABLE, &TcpConnector::onWritable);
  if (status != 0) return fail(status, "connect");
  timeout_ = reactor_.callLater(timeout, [this] { fail(UV_ETIMEDOUT, "connect"); });
}

void TcpConnector::onWritable(uv_poll_t* poll, int status, int) noexcept {
  auto& self = static_cast<TcpConnector&>(*static_cast<LoopHandle*>(poll->data));
  if (self.closing()) return;
  // libuv reports EPOLLERR as UV_EBADF; the socket's pending error says what really happened.
  int error = 0;
  socklen_t size = sizeof error;
  if (::getsockopt(self.fd_.get(), SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
  if (error != 0) return self.fail(-error, "connect");
  if (status < 0) return self.fail(status, "connect");
  runGuarded("connected", [&self] { self.connected(); });
}

void TcpConnector::connected() {
  posix::UniqueFd fd = std::move(fd_);
  const Address destination = state_->destination;
  auto factory = factory_;
  Reactor& reactor = reactor_;
  // Closing the poll handle first takes the descriptor out of the loop's epoll set, so the connection can
  // register it again.
  close();
  FactoryAccess::doStop(*factory);
  std::shared_ptr<Protocol> protocol;
  {
    LogContext context(factory->logPrefix());
    runGuarded("buildProtocol", [&] { protocol = factory->buildProtocol(destination); });
  }
  if (!protocol) return;  // refused by the factory: fd closes
  StreamConnection::start(std::make_shared<ConnectionSet>(reactor, "", destination), fd.release(), destination,
                          std::move(protocol));
}

void TcpConnector::fail(int status, const char* why) noexcept {
  if (closing()) return;
  std::string message;
  runGuarded("connect failure", [&] { message = failureMessage(why, state_->destination, status); });
  close();
  reportFailure(reactor_, factory_, state_->destination, std::move(message));
}

void TcpConnector::onClose() noexcept {
  timeout_.cancel();
  if (state_->pending == this) state_->pending = nullptr;
  uv_poll_stop(&poll_);
  fd_.reset();  // uv_close of a poll handle leaves the descriptor to its owner
}

}  // namespace detail

ClientFactory::ClientFactory() = default;
ClientFactory::~ClientFactory() = default;
void ClientFactory::clientConnectionFailed(const Address&, const DisconnectReason&) {}

Connector::Connector() : state_(std::make_shared<State>()) {}
Connector::Connector(std::shared_ptr<State> state) noexcept : state_(std::move(state)) {}
Connector::~Connector() = default;
Connector::Connector(const Connector&) = default;
Connector& Connector::operator=(const Connector&) = default;

void Connector::stopConnecting() noexcept {
  if (state_->pending != nullptr) state_->pending->fail(UV_ECANCELED, "connect");
}

bool Connector::connecting() const noexcept { return state_->pending != nullptr; }

Address Connector::getDestination() const { return state_->destination; }

Connector connectTCP(const std::string& host, std::uint16_t port, std::shared_ptr<ClientFactory> factory,
                     std::chrono::milliseconds timeout, Reactor& reactor) {
  if (!factory) throw std::invalid_argument("connectTCP: the factory is null");
  sockaddr_storage address{};
  socklen_t length = 0;
  auto state = std::make_shared<Connector::State>();
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    length = sizeof *v4;
    state->destination = Address::ipv4(host, port);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    length = sizeof *v6;
    state->destination = Address::ipv6(host, port);
  } else {
    throw UsageError(fmt::format("connectTCP: '{}' is not a numeric IPv4 or IPv6 address", host));
  }
  detail::FactoryAccess::doStart(*factory);
  posix::UniqueFd fd(::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int status = fd ? 0 : -errno;
  if (status == 0 && ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0 && errno != EINPROGRESS) {
    status = -errno;
  }
  std::unique_ptr<detail::TcpConnector> attempt;
  if (status == 0) {
    attempt = std::make_unique<detail::TcpConnector>(reactor, state, factory);
    status = uv_poll_init(detail::uvLoop(reactor), attempt->poll(), fd.get());
  }
  if (status != 0) {
    fd.reset();
    detail::reportFailure(reactor, std::move(factory), state->destination,
                          detail::failureMessage("connect", state->destination, status));
    return detail::ConnectorAccess::make(std::move(state));
  }
  attempt.release()->begin(fd.release(), timeout);  // the loop owns it from here: its close callback frees it
  return detail::ConnectorAccess::make(std::move(state));
}

}  // namespace cppd
