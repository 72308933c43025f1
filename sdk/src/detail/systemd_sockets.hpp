#pragma once

#include <cppd/endpoint.hpp>

namespace cppd::detail {

/// A duplicate (close-on-exec, non-blocking) of the listening socket systemd passed for endpoint (LISTEN_PID must
/// be this process; fds start at 3; names come from LISTEN_FDNAMES when its count matches LISTEN_FDS, and index=
/// works without it). The variables are left in place so several endpoints can adopt sockets. Throws cppd::Error
/// "listen systemd:domain=INET:index=2: ..." naming what is missing or wrong.
int adoptSystemdSocket(const Endpoint& endpoint);

}  // namespace cppd::detail
