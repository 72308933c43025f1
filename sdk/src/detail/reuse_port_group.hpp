#pragma once

// `--reuseport`: each TCP port of a multi-process run gets one SO_REUSEPORT socket per worker, each with its own
// accept queue. The supervisor opens them all and keeps them for its whole life, so a worker that dies leaves
// its queue behind for its replacement; each worker puts its own socket in place of the port's first one.

#include <sys/socket.h>

#include <vector>

#include <cppd/worker.hpp>

namespace cppd::detail {

/// Sockets per port: 0 (the default) shares one socket between all workers.
void setReusePortSockets(unsigned count) noexcept;
unsigned reusePortSockets() noexcept;

/// After the port's first socket (mainFd, bound with SO_REUSEPORT to address) listens: opens the others, bound
/// to the same address, and records them. Throws cppd::Error naming the endpoint (target) when one fails.
void openReusePortGroup(int mainFd, const sockaddr* address, socklen_t length, int backlog, const char* target);

/// In the supervisor when a port closes: closes its other sockets. Never throws.
void closeReusePortGroup(int mainFd) noexcept;

/// Appends every group's other sockets as "<endpoint>#<i>" (a reload hands them to the next image).
void listReusePortSockets(std::vector<HandedSocket>& out);

/// In worker id (1..N) after fork: every port's first descriptor now refers to the worker's own socket
/// ((id - 1) modulo the group's size), and the worker's copies of the others are closed.
void adoptReusePortSockets(unsigned workerId) noexcept;

}  // namespace cppd::detail
