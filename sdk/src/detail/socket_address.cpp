#include "detail/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

namespace cppd::detail {

Address addressFromSockaddr(const sockaddr_storage& storage, socklen_t length) {
  char host[INET6_ADDRSTRLEN] = "";
  if (storage.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(storage);
    inet_ntop(AF_INET, &in.sin_addr, host, sizeof host);
    return Address::ipv4(host, ntohs(in.sin_port));
  }
  if (storage.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage);
    inet_ntop(AF_INET6, &in6.sin6_addr, host, sizeof host);
    return Address::ipv6(host, ntohs(in6.sin6_port));
  }
  const auto& un = reinterpret_cast<const sockaddr_un&>(storage);
  const std::size_t offset = offsetof(sockaddr_un, sun_path);
  if (storage.ss_family != AF_UNIX || length <= offset || un.sun_path[0] == '\0') return Address::unixSocket("");
  const std::size_t max = std::min<std::size_t>(length - offset, sizeof un.sun_path);
  return Address::unixSocket(std::string(un.sun_path, strnlen(un.sun_path, max)));
}

Address localAddress(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) return Address::unixSocket("");
  return addressFromSockaddr(storage, length);
}

}  // namespace cppd::detail
