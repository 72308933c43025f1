#pragma once

// Which process of a multi-process run (`cppd --workers N`) the calling code is in. A supervisor binds the
// listening sockets (privilegedStartService) and forks N workers that each start the services and accept on
// the same sockets; plugins need not know, but may say which worker served (log lines already do).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <cppd/export.hpp>

namespace cppd {

/// 1..N in a worker of a multi-process run; 0 in a single-process run and in the supervisor.
CPPD_API unsigned workerId() noexcept;

/// Connections this process's listening ports have accepted since it started. Loop thread only.
CPPD_API std::uint64_t acceptedConnections() noexcept;

namespace detail {

/// For the runner, in the supervisor before privilegedStartService: with reusePort, every TCP port opened from
/// now on gets one SO_REUSEPORT socket per worker (workers of them), each with its own accept queue; the
/// supervisor keeps them all open, and a worker uses socket ((id - 1) modulo workers).
CPPD_API void prepareWorkers(unsigned workers, bool reusePort);

/// For the runner, in a worker: after count accepted connections (0: no limit) every port stops accepting and
/// reached runs once, on the loop thread (--max-requests: the supervisor then replaces the worker).
CPPD_API void limitAccepts(std::uint64_t count, std::function<void()> reached);

/// For the runner, in a worker just after fork: records the id, tags every log line with "w<id>" (the system
/// "[Proto,3,1.2.3.4]" becomes "[Proto,w2,3,1.2.3.4]", "-" becomes "w2"), and leaves UNIX socket files in
/// place when a port closes (the supervisor owns them and removes them when it exits), and, with --reuseport,
/// puts the worker's own socket in place of each port's first one.
CPPD_API void becomeWorker(unsigned id);

/// A listening socket a reload hands to the runner's next image: the endpoint's canonical text (toString(); a
/// SO_REUSEPORT group's other sockets "<endpoint>#<i>") and the descriptor.
struct HandedSocket {
  std::string key;
  int fd = -1;
};

/// For the runner, in a reload's new image before any port opens: sockets the previous image handed over. A port
/// whose endpoint text matches one takes it instead of binding (the same socket: its queue is kept).
CPPD_API void inheritListeners(std::vector<HandedSocket> sockets);
/// Whether a handed-over socket for key is still waiting to be taken.
CPPD_API bool isInheritedListener(const std::string& key) noexcept;
/// Every listening socket this process has open now (ports, their SO_REUSEPORT groups, and handed-over ones no
/// port has taken yet), for the next image.
CPPD_API std::vector<HandedSocket> listenersToHandOver();
/// After the new image's ports opened: closes the handed-over sockets no endpoint took (endpoints removed from
/// the configuration; the old workers keep their own copies until they stop) and returns their keys.
CPPD_API std::vector<std::string> closeUnclaimedListeners() noexcept;

/// For the runner, in a reload's new image instead of prepareWorkers' own mapping: the metrics the previous image
/// shared with its workers (fd, taken) and its totals (totalsFd, taken; -1 for none).
CPPD_API void prepareReloadedWorkers(unsigned workers, bool reusePort, int metricsFd, int totalsFd);
/// Before the runner execs itself for a reload: the shared metrics' descriptor (close-on-exec; -1 when not
/// shared) and a new memfd holding the counters only this image has (close-on-exec).
CPPD_API int sharedMetricsFd() noexcept;
CPPD_API int exportMetricTotals();

}  // namespace detail
}  // namespace cppd
