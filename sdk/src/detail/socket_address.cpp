#include "detail/socket_address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>

namespace cppd::detail {
namespace {

// Dotted-quad text of an IPv4 address in network order: what inet_ntop writes, without the sprintf it calls
// four times, which was the largest single cost of accepting a connection.
std::string dottedQuad(const in_addr& address) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(&address.s_addr);
  char text[INET_ADDRSTRLEN];
  char* at = text;
  for (int k = 0; k < 4; ++k) {
    if (k > 0) *at++ = '.';
    const unsigned value = bytes[k];
    if (value >= 100) *at++ = static_cast<char>('0' + value / 100);
    if (value >= 10) *at++ = static_cast<char>('0' + value / 10 % 10);
    *at++ = static_cast<char>('0' + value % 10);
  }
  return std::string(text, static_cast<std::size_t>(at - text));
}

}  // namespace

Address addressFromSockaddr(const sockaddr_storage& storage, socklen_t length) {
  if (storage.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(storage);
    return Address::ipv4(dottedQuad(in.sin_addr), ntohs(in.sin_port));
  }
  if (storage.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(storage);
    char host[INET6_ADDRSTRLEN] = "";
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
