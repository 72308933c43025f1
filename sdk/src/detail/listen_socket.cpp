#include "detail/listen_socket.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "detail/process_role.hpp"
#include "detail/reactor_impl.hpp"
#include "detail/reuse_port_group.hpp"
#include "detail/socket_address.hpp"
#include "detail/socket_handover.hpp"
#include "detail/systemd_sockets.hpp"

namespace cppd::detail {
namespace {

[[noreturn]] void throwErrno(const std::string& target) { throw uvError("listen", target, -errno); }

// The socket address to bind for a tcp/tcp6 endpoint; host names are resolved here (blocking, at start-up).
socklen_t interfaceAddress(const Endpoint& endpoint, sockaddr_storage& out, const std::string& target) {
  const bool ipv6 = endpoint.type() == EndpointType::tcp6;
  addrinfo hints{};
  hints.ai_family = ipv6 ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* result = nullptr;
  const std::string port = std::to_string(endpoint.port());
  const char* host = endpoint.interface().empty() ? nullptr : endpoint.interface().c_str();
  const int status = ::getaddrinfo(host, port.c_str(), &hints, &result);
  if (status != 0) {
    throw Error(ErrorKind::config, fmt::format("listen {}: cannot resolve interface '{}' as an {} address: {}", target,
                                               endpoint.interface(), ipv6 ? "IPv6" : "IPv4", ::gai_strerror(status)));
  }
  std::memcpy(&out, result->ai_addr, result->ai_addrlen);
  const socklen_t length = result->ai_addrlen;
  ::freeaddrinfo(result);
  return length;
}

ListenSocket openTcp(const Endpoint& endpoint, const std::string& target) {
  sockaddr_storage address{};
  const socklen_t length = interfaceAddress(endpoint, address, target);
  posix::UniqueFd fd(::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throwErrno(target);
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) throwErrno(target);
  const bool group = reusePortSockets() > 1;
  if (group && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) throwErrno(target);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0) throwErrno(target);
  if (::listen(fd.get(), endpoint.backlog()) != 0) throwErrno(target);
  if (group) {
    // The workers' other sockets take the port the first one got (port 0 picks one).
    sockaddr_storage bound{};
    socklen_t boundLength = sizeof bound;
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &boundLength) != 0) throwErrno(target);
    openReusePortGroup(fd.get(), reinterpret_cast<const sockaddr*>(&bound), boundLength, endpoint.backlog(),
                       target.c_str());
  }
  ListenSocket socket;
  socket.bound = localAddress(fd.get());
  socket.fd = fd.release();
  return socket;
}

// True when nothing answers on the UNIX socket at path: a file left behind by a process that died.
bool staleUnixSocket(const sockaddr_un& address) {
  struct stat info {};
  if (::lstat(address.sun_path, &info) != 0 || !S_ISSOCK(info.st_mode)) return false;
  posix::UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (probe.get() < 0) return false;
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
         errno == ECONNREFUSED;
}

ListenSocket openUnix(const Endpoint& endpoint, const std::string& target) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  const std::string& path = endpoint.path();
  // Checked here too: an Endpoint built in code (Endpoint::unixSocket) has not been through the parser's check.
  if (path.empty() || path.size() >= sizeof address.sun_path || path.find('\0') != std::string::npos) {
    throw Error(ErrorKind::config, fmt::format("listen {}: socket path is {} bytes; it must be 1 to {} bytes with no "
                                               "NUL byte", target, path.size(), sizeof address.sun_path - 1));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  posix::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) throwErrno(target);
  const auto* raw = reinterpret_cast<const sockaddr*>(&address);
  if (::bind(fd.get(), raw, sizeof address) != 0) {
    const int bindError = errno;
    if (bindError != EADDRINUSE || !staleUnixSocket(address)) {
      errno = bindError;  // the stale-socket probe must not replace the reason
      throwErrno(target);
    }
    ::unlink(address.sun_path);
    if (::bind(fd.get(), raw, sizeof address) != 0) throwErrno(target);
  }
  ListenSocket socket;
  socket.unlinkPath = endpoint.path();
  if (endpoint.mode() && ::chmod(address.sun_path, *endpoint.mode()) != 0) {
    const int error = errno;
    ::unlink(address.sun_path);
    throw uvError("listen", target, -error);
  }
  if (::listen(fd.get(), endpoint.backlog()) != 0) {
    const int error = errno;
    ::unlink(address.sun_path);
    throw uvError("listen", target, -error);
  }
  socket.bound = Address::unixSocket(endpoint.path());
  socket.fd = fd.release();
  return socket;
}

// A socket the previous image of a reloading runner handed over for this endpoint, or an fd of -1.
ListenSocket inheritedSocket(const Endpoint& endpoint, const std::string& target) {
  ListenSocket socket;
  socket.fd = takeInheritedListener(target);
  if (socket.fd < 0) return socket;
  socket.bound = endpoint.type() == EndpointType::unixSocket ? Address::unixSocket(endpoint.path())
                                                             : localAddress(socket.fd);
  if (endpoint.type() == EndpointType::unixSocket) socket.unlinkPath = endpoint.path();
  if (reusePortSockets() > 1 && endpoint.type() != EndpointType::unixSocket) {
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    if (::getsockname(socket.fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) throwErrno(target);
    openReusePortGroup(socket.fd, reinterpret_cast<const sockaddr*>(&bound), length, endpoint.backlog(),
                       target.c_str());
  }
  return socket;
}

ListenSocket openSocket(const Endpoint& endpoint, const std::string& target) {
  if (ListenSocket inherited = inheritedSocket(endpoint, target); inherited.fd >= 0) return inherited;
  switch (endpoint.type()) {
    case EndpointType::tcp:
    case EndpointType::tcp6:
      return openTcp(endpoint, target);
    case EndpointType::unixSocket:
      return openUnix(endpoint, target);
    case EndpointType::systemd:
      break;
  }
  ListenSocket socket;
  socket.fd = adoptSystemdSocket(endpoint);
  socket.bound = localAddress(socket.fd);
  return socket;
}

}  // namespace

ListenSocket openListenSocket(const Endpoint& endpoint) {
  const std::string target = endpoint.toString();
  ListenSocket socket = openSocket(endpoint, target);
  recordListener(target, socket.fd);
  return socket;
}

void closeListenSocket(ListenSocket& socket) noexcept {
  if (socket.fd >= 0) {
    forgetListener(socket.fd);
    closeReusePortGroup(socket.fd);
    ::close(socket.fd);
  }
  socket.fd = -1;
  if (!socket.unlinkPath.empty() && ownsListenerPaths) ::unlink(socket.unlinkPath.c_str());
  socket.unlinkPath.clear();
}

}  // namespace cppd::detail
