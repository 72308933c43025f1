#pragma once

// The listening sockets a reload hands to the next image of the runner. Every socket openListenSocket() opens is
// recorded under its endpoint's canonical text (and a SO_REUSEPORT group's other sockets as "<endpoint>#<i>");
// the runner lists them before it execs itself, and the new image, given them back, takes a recorded socket
// instead of binding again whenever an endpoint's text matches: the same socket, so nothing queued in the
// kernel is lost and no other process can take the port in between.

#include <string>
#include <vector>

#include <cppd/worker.hpp>

namespace cppd::detail {

/// Records fd as the listening socket of key (an endpoint's toString(), or "<endpoint>#<i>").
void recordListener(const std::string& key, int fd);
/// Forgets fd (it is being closed). Never throws.
void forgetListener(int fd) noexcept;
/// The handed-over socket for key, taken out of the inherited set (the caller owns it), or -1.
int takeInheritedListener(const std::string& key) noexcept;

}  // namespace cppd::detail
