#pragma once

#include <string>

#include <cppd/address.hpp>
#include <cppd/endpoint.hpp>

namespace cppd::detail {

/// A bound, listening, non-blocking socket made for an Endpoint. The fd is owned by whoever holds the value;
/// closeListenSocket() releases it.
struct ListenSocket {
  int fd = -1;
  Address bound;
  std::string unlinkPath;  // a UNIX socket file this process created and removes when it stops listening
};

/// Binds and listens as endpoint says (for systemd endpoints: adopts the passed socket). Throws cppd::Error
/// "listen <endpoint>: <libuv message> (<ERRNAME>)", or naming what else went wrong (an unresolvable interface,
/// a missing systemd socket).
ListenSocket openListenSocket(const Endpoint& endpoint);

/// Closes the fd and removes the socket file, if any. Never throws.
void closeListenSocket(ListenSocket& socket) noexcept;

}  // namespace cppd::detail
