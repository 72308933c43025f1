#pragma once

#include <sys/socket.h>

#include <cppd/address.hpp>

namespace cppd::detail {

/// The Address of a socket address filled in by accept/getsockname/getpeername.
Address addressFromSockaddr(const sockaddr_storage& storage, socklen_t length);

/// getsockname(fd) as an Address; an unnamed UNIX address if the call fails.
Address localAddress(int fd);

}  // namespace cppd::detail
