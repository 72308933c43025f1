#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <cppd/address.hpp>
#include <cppd/export.hpp>

namespace cppd {

/// What kind of listening socket an Endpoint describes.
enum class EndpointType {
  tcp,         // "tcp:PORT[:interface=IP][:backlog=N]"
  tcp6,        // "tcp6:PORT[:interface=IP6][:backlog=N]"
  unixSocket,  // "unix:PATH[:mode=OCTAL][:backlog=N]"
  systemd,     // "systemd:domain=INET|INET6|UNIX:index=N" or "...:name=FDNAME": a socket passed by systemd
};

/// A parsed server endpoint description (Twisted's strports / serverFromString), as a value.
///
/// Syntax: "type:arg:key=value:...". A backslash makes the next character literal ("\:" is a colon). Inside a
/// value (after "=") only ":" separates, so "a=b=c" sets a to "b=c". Positional arguments come first in the
/// order of Twisted's parsers (tcp: port, interface, backlog; unix: path, mode, backlog); keywords may appear
/// anywhere. A bare number "8080" means "tcp:8080" on the caller's default interface. Leaving interface= out
/// means every interface; giving it empty ("tcp:8080:interface=") is an error, not every interface.
///
/// Immutable; safe to use from any thread.
class CPPD_API Endpoint {
 public:
  /// twistd uses 50, which drops connections under load; this is the usual somaxconn.
  static constexpr int defaultBacklog = 4096;

  /// Parses description. A bare port number becomes tcp on defaultInterface (tcp6 when that interface is an IPv6
  /// address; all IPv4 interfaces when it is empty). Throws cppd::UsageError naming the string and the problem:
  /// "invalid endpoint 'tcp:abc': port 'abc' is not a number 0-65535".
  static Endpoint parse(std::string_view description, std::string_view defaultInterface = "");

  /// tcp:port on the given interface, built directly.
  static Endpoint tcp(std::uint16_t port, std::string interface = "", int backlog = defaultBacklog);
  /// unix:path, built directly.
  static Endpoint unixSocket(std::string path, std::optional<unsigned> mode = std::nullopt,
                             int backlog = defaultBacklog);

  EndpointType type() const noexcept { return type_; }

  /// tcp/tcp6: the port (0 asks the kernel for a free one).
  std::uint16_t port() const noexcept { return port_; }
  /// tcp/tcp6: the interface to bind, as given (numeric or a host name); empty for all interfaces.
  const std::string& interface() const noexcept { return interface_; }
  /// tcp/tcp6/unix: the listen backlog.
  int backlog() const noexcept { return backlog_; }
  /// unix: the socket path.
  const std::string& path() const noexcept { return path_; }
  /// unix: permission bits applied to the socket file after binding; without it the umask decides.
  std::optional<unsigned> mode() const noexcept { return mode_; }
  /// systemd: the expected address family of the passed socket.
  AddressFamily domain() const noexcept { return domain_; }
  /// systemd: the position among the passed sockets (fd 3 + index), when chosen by index.
  std::optional<unsigned> index() const noexcept { return index_; }
  /// systemd: the socket's FileDescriptorName=, when chosen by name.
  const std::optional<std::string>& name() const noexcept { return name_; }

  /// The canonical description, which parse() accepts again: "tcp:8000:interface=127.0.0.1",
  /// "tcp6:8080:interface=\:\:1", "unix:/run/p.sock:mode=660", "systemd:domain=INET:index=0". The backlog is
  /// shown only when it is not the default.
  std::string toString() const;

  friend bool operator==(const Endpoint&, const Endpoint&) = default;

 private:
  Endpoint() = default;
  friend struct EndpointParser;

  EndpointType type_ = EndpointType::tcp;
  std::uint16_t port_ = 0;
  std::string interface_;
  int backlog_ = defaultBacklog;
  std::string path_;
  std::optional<unsigned> mode_;
  AddressFamily domain_ = AddressFamily::ipv4;
  std::optional<unsigned> index_;
  std::optional<std::string> name_;
};

}  // namespace cppd
