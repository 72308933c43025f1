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

// Built by appending rather than with fmt::format: a protocol that logs its peer calls this once per connection,
// and parsing a format string at run time was most of its cost.
std::string Address::toString() const {
  std::string text;
  text.reserve(26 + host_.size() + path_.size());
  appendTo(text);
  return text;
}

}  // namespace cppd
