#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include <cppd/export.hpp>

namespace cppd {

/// The address family of an Address.
enum class AddressFamily {
  ipv4,        // TCP over IPv4: host and port
  ipv6,        // TCP over IPv6: host and port
  unixSocket,  // a UNIX domain stream socket: a path (empty for an unnamed peer)
};

/// One end of a stream connection, or what a listening port is bound to (Twisted's IPv4Address, IPv6Address and
/// UNIXAddress in one value type). Immutable and cheap to copy; safe to use from any thread.
class CPPD_API Address {
 public:
  /// IPv4Address(TCP, '0.0.0.0', 0).
  Address();

  static Address ipv4(std::string host, std::uint16_t port);
  static Address ipv6(std::string host, std::uint16_t port);
  /// A UNIX socket address; an empty path is an unnamed socket (the usual peer of a UNIX server connection).
  static Address unixSocket(std::string path);

  AddressFamily family() const noexcept { return family_; }
  bool isTcp() const noexcept { return family_ != AddressFamily::unixSocket; }

  /// The numeric host ("127.0.0.1", "::1"); empty for UNIX addresses.
  const std::string& host() const noexcept { return host_; }
  /// The port; 0 for UNIX addresses.
  std::uint16_t port() const noexcept { return port_; }
  /// The socket path; empty for TCP addresses and unnamed UNIX sockets.
  const std::string& path() const noexcept { return path_; }

  /// Twisted's notation: "IPv4Address(TCP, '127.0.0.1', 58208)", "IPv6Address(TCP, '::1', 8080)",
  /// "UNIXAddress('/run/poetry.sock')", "UNIXAddress(None)" for an unnamed socket.
  std::string toString() const;

  /// toString() appended to out (a std::string, a fmt::memory_buffer: anything with append(std::string_view)),
  /// with no string of its own: for a line put together per connection.
  template <typename Buffer>
  void appendTo(Buffer& out) const {
    const auto add = [&](std::string_view text) { out.append(text); };
    if (family_ == AddressFamily::unixSocket) {
      if (path_.empty()) return add("UNIXAddress(None)");
      add("UNIXAddress('");
      add(path_);
      return add("')");
    }
    char digits[8];
    const auto end = std::to_chars(digits, digits + sizeof digits, port_).ptr;
    add(family_ == AddressFamily::ipv4 ? "IPv4Address(TCP, '" : "IPv6Address(TCP, '");
    add(host_);
    add("', ");
    add(std::string_view(digits, static_cast<std::size_t>(end - digits)));
    add(")");
  }

  friend bool operator==(const Address&, const Address&) = default;

 private:
  Address(AddressFamily family, std::string host, std::uint16_t port, std::string path);

  AddressFamily family_;
  std::string host_;
  std::uint16_t port_;
  std::string path_;
};

}  // namespace cppd
