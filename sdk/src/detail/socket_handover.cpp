#include "detail/socket_handover.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "detail/reuse_port_group.hpp"

namespace cppd::detail {
namespace {

std::vector<HandedSocket>& open() {
  static std::vector<HandedSocket> sockets;
  return sockets;
}

std::vector<HandedSocket>& inherited() {
  static std::vector<HandedSocket> sockets;
  return sockets;
}

}  // namespace

void recordListener(const std::string& key, int fd) { open().push_back(HandedSocket{key, fd}); }

void forgetListener(int fd) noexcept {
  auto& all = open();
  all.erase(std::remove_if(all.begin(), all.end(), [fd](const HandedSocket& s) { return s.fd == fd; }), all.end());
}

int takeInheritedListener(const std::string& key) noexcept {
  auto& all = inherited();
  const auto found = std::find_if(all.begin(), all.end(), [&key](const HandedSocket& s) { return s.key == key; });
  if (found == all.end()) return -1;
  const int fd = found->fd;
  all.erase(found);
  return fd;
}

void inheritListeners(std::vector<HandedSocket> sockets) {
  // Handed over without close-on-exec (so they crossed the exec): no child this image starts may keep them.
  for (const HandedSocket& socket : sockets) ::fcntl(socket.fd, F_SETFD, FD_CLOEXEC);
  inherited() = std::move(sockets);
}

bool isInheritedListener(const std::string& key) noexcept {
  const auto& all = inherited();
  return std::any_of(all.begin(), all.end(), [&key](const HandedSocket& s) { return s.key == key; });
}

std::vector<HandedSocket> listenersToHandOver() {
  std::vector<HandedSocket> all = open();
  listReusePortSockets(all);
  // Handed over and not taken yet: a reload whose start failed keeps them for the next one (the old workers
  // still accept on them).
  all.insert(all.end(), inherited().begin(), inherited().end());
  return all;
}

std::vector<std::string> closeUnclaimedListeners() noexcept {
  std::vector<std::string> closed;
  for (const HandedSocket& socket : inherited()) {
    ::close(socket.fd);
    closed.push_back(socket.key);
  }
  inherited().clear();
  return closed;
}

}  // namespace cppd::detail
