#include <cppd/address.hpp>

#include <utility>

#include <fmt/format.h>

namespace cppd {

Address::Address() : Address(AddressFamily::ipv4, "0.0.0.0", 0, "") {}

Address::Address(AddressFamily family, std::string host, std::uint16_t port, std::string path)
    : family_(family), host_(std::move(host)), port_(port), path_(std::move(path)) {}

Address Address::ipv4(std::string host, std::uint16_t port) {
  return Address(AddressFamily::ipv4, std::move(host), port, "");
}

Address Address::ipv6(std::string host, std::uint16_t port) {
  return Address(AddressFamily::ipv6, std::move(host), port, "");
}

Address Address::unixSocket(std::string path) { return Address(AddressFamily::unixSocket, "", 0, std::move(path)); }

std::string Address::toString() const {
  switch (family_) {
    case AddressFamily::ipv4:
      return fmt::format("IPv4Address(TCP, '{}', {})", host_, port_);
    case AddressFamily::ipv6:
      return fmt::format("IPv6Address(TCP, '{}', {})", host_, port_);
    case AddressFamily::unixSocket:
      break;
  }
  return path_.empty() ? std::string("UNIXAddress(None)") : fmt::format("UNIXAddress('{}')", path_);
}

}  // namespace cppd
