#pragma once

// The control socket: a Unix stream socket on which cppdctl (or socat) sends one JSON request per line and reads
// one JSON reply per line (README.md). It lives in the daemon's loop beside the services and must never disturb
// them: every line is bounded, a client that stalls is closed, and the number of clients is capped.

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <cppd/listening_port.hpp>
#include <cppd/reactor.hpp>

#include "control/controlled_daemon.hpp"

namespace cppd::runner {

struct ControlSettings {
  std::string path;                                 // absolute
  std::optional<uid_t> owner;                       // chown the socket to these (the post-drop user)
  std::optional<gid_t> group;
  std::size_t maxLine = 4096;                       // bytes per request line, newline included
  std::chrono::milliseconds deadline{10000};        // per request: a client silent that long is closed
  std::size_t maxClients = 64;                      // more are answered with an error and closed
};

class ControlServer {
 public:
  /// Listens on settings.path (mode 0600, then chowned). A socket file nobody answers on is replaced; one that
  /// answers means another daemon: cppd::Error (alreadyRunning) "Another cppd server is running: its control
  /// socket PATH answers". Other failures throw cppd::Error naming the path and the errno text; nothing is left.
  ControlServer(Reactor& reactor, IControlledDaemon& daemon, ControlSettings settings);
  /// Stops listening, removes the socket file and closes the clients.
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const noexcept { return settings_.path; }

 private:
  class Factory;
  ControlSettings settings_;
  std::shared_ptr<Factory> factory_;
  ListeningPort port_;
  ino_t inode_ = 0;  // the socket file this server made: removed at exit if still there
};

}  // namespace cppd::runner
