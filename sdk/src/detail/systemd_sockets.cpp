#include "detail/systemd_sockets.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "detail/reactor_impl.hpp"

namespace cppd::detail {
namespace {

constexpr int kFirstFd = 3;  // SD_LISTEN_FDS_START

struct PassedSockets {
  unsigned count = 0;
  std::vector<std::string> names;  // empty when LISTEN_FDNAMES is missing or does not match the count
};

std::string envOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}

PassedSockets passedSockets(const std::string& target) {
  const std::string pid = envOr("LISTEN_PID", "");
  if (pid.empty() || pid != std::to_string(::getpid())) {
    throw Error(ErrorKind::unavailable,
                fmt::format("listen {}: no sockets were passed to this process (LISTEN_PID is {}; run under systemd "
                            "socket activation with --nodaemon)",
                            target, pid.empty() ? "not set" : "for PID " + pid));
  }
  PassedSockets passed;
  const std::string fds = envOr("LISTEN_FDS", "0");
  char* end = nullptr;
  const unsigned long count = std::strtoul(fds.c_str(), &end, 10);
  if (fds.empty() || *end != '\0' || count > 4096) {
    throw Error(ErrorKind::config, fmt::format("listen {}: LISTEN_FDS '{}' is not a count", target, fds));
  }
  passed.count = static_cast<unsigned>(count);
  const std::string names = envOr("LISTEN_FDNAMES", "");
  std::vector<std::string> split;
  std::size_t start = 0;
  while (!names.empty() && start <= names.size()) {
    const std::size_t colon = std::min(names.find(':', start), names.size());
    split.push_back(names.substr(start, colon - start));
    start = colon + 1;
  }
  if (split.size() == passed.count) passed.names = std::move(split);
  return passed;
}

unsigned chooseIndex(const Endpoint& endpoint, const PassedSockets& passed, const std::string& target) {
  if (endpoint.index()) {
    if (*endpoint.index() >= passed.count) {
      throw Error(ErrorKind::config, fmt::format("listen {}: index {} is out of range (LISTEN_FDS={})", target,
                                                 *endpoint.index(), passed.count));
    }
    return *endpoint.index();
  }
  for (unsigned i = 0; i < passed.names.size(); ++i) {
    if (passed.names[i] == *endpoint.name()) return i;
  }
  throw Error(ErrorKind::config,
              fmt::format("listen {}: no passed socket is named '{}' (LISTEN_FDNAMES: {})", target, *endpoint.name(),
                          passed.names.empty() ? "not set or not matching LISTEN_FDS" : fmt::format("{}", fmt::join(passed.names, ", "))));
}

int socketOption(int fd, int option) {
  int value = -1;
  socklen_t length = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &length) != 0) return -1;
  return value;
}

void checkSocket(int fd, const Endpoint& endpoint, const std::string& target) {
  const int expected = endpoint.domain() == AddressFamily::ipv4   ? AF_INET
                       : endpoint.domain() == AddressFamily::ipv6 ? AF_INET6
                                                                  : AF_UNIX;
  const int domain = socketOption(fd, SO_DOMAIN);
  if (domain < 0) throw uvError("listen", fmt::format("{} (fd {})", target, fd), -errno);
  if (domain != expected) {
    throw Error(ErrorKind::config, fmt::format("listen {}: fd {} is not an {} socket", target, fd,
                                               expected == AF_INET ? "INET" : expected == AF_INET6 ? "INET6" : "UNIX"));
  }
  if (socketOption(fd, SO_TYPE) != SOCK_STREAM || socketOption(fd, SO_ACCEPTCONN) != 1) {
    throw Error(ErrorKind::config, fmt::format("listen {}: fd {} is not a listening stream socket", target, fd));
  }
}

}  // namespace

int adoptSystemdSocket(const Endpoint& endpoint) {
  const std::string target = endpoint.toString();
  const PassedSockets passed = passedSockets(target);
  const int fd = kFirstFd + static_cast<int>(chooseIndex(endpoint, passed, target));
  checkSocket(fd, endpoint, target);
  // A duplicate, so stopping (and starting again) never closes systemd's own descriptor.
  posix::UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, kFirstFd));
  if (!copy) throw uvError("listen", target, -errno);
  const int flags = ::fcntl(copy.get(), F_GETFL);
  if (flags < 0 || ::fcntl(copy.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    throw uvError("listen", target, -errno);  // the message is made before copy closes
  }
  return copy.release();
}

}  // namespace cppd::detail
