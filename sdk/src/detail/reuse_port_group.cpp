#include "detail/reuse_port_group.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "detail/socket_handover.hpp"

namespace cppd::detail {
namespace {

struct Group {
  std::string key;
  int mainFd = -1;
  std::vector<posix::UniqueFd> others;  // sockets 2..N of the port
};

unsigned socketsPerPort = 0;
std::vector<Group>& groups() {
  static std::vector<Group> all;
  return all;
}

}  // namespace

void setReusePortSockets(unsigned count) noexcept { socketsPerPort = count; }

unsigned reusePortSockets() noexcept { return socketsPerPort; }

void openReusePortGroup(int mainFd, const sockaddr* address, socklen_t length, int backlog, const char* target) {
  Group group;
  group.key = target;
  group.mainFd = mainFd;
  const auto fail = [&](const char* operation) {  // group's sockets close as it goes
    throw systemError(operation, std::string(target) + " (SO_REUSEPORT socket for a worker)", errno);
  };
  for (unsigned i = 1; i < socketsPerPort; ++i) {
    if (posix::UniqueFd handed(takeInheritedListener(fmt::format("{}#{}", target, i))); handed) {
      group.others.push_back(std::move(handed));  // a reload's: the same socket, its queue kept
      continue;
    }
    posix::UniqueFd socket(::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket) fail("socket");
    const int fd = socket.get();
    group.others.push_back(std::move(socket));
    const int on = 1;
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0) fail("setsockopt");
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) fail("setsockopt");
    if (::bind(fd, address, length) != 0) fail("bind");
    if (::listen(fd, backlog) != 0) fail("listen");
  }
  groups().push_back(std::move(group));
}

void closeReusePortGroup(int mainFd) noexcept {
  auto& all = groups();
  for (auto it = all.begin(); it != all.end(); ++it) {
    if (it->mainFd != mainFd) continue;
    all.erase(it);  // closes its other sockets
    return;
  }
}

void listReusePortSockets(std::vector<HandedSocket>& out) {
  for (const Group& group : groups()) {
    for (std::size_t i = 0; i < group.others.size(); ++i) {
      out.push_back(HandedSocket{fmt::format("{}#{}", group.key, i + 1), group.others[i].get()});
    }
  }
}

void adoptReusePortSockets(unsigned workerId) noexcept {
  for (const Group& group : groups()) {
    const std::size_t index = (workerId - 1) % (group.others.size() + 1);
    if (index != 0) ::dup3(group.others[index - 1].get(), group.mainFd, O_CLOEXEC);
  }
  groups().clear();  // closes every other socket: this worker listens on its own only
}

}  // namespace cppd::detail
