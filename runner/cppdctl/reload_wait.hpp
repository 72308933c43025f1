#pragma once

// `cppdctl reload` waits for the reload's outcome: the daemon answers the request at once (the reload may exec a
// new image of the daemon, which closes every control connection), so the outcome is read from `status` on new
// connections until the reload counts have moved and no reload is under way.

#include <chrono>
#include <cstdint>
#include <string>

namespace cppd::ctl {

struct ReloadCounts {
  std::uint64_t reloads = 0;
  std::uint64_t failed = 0;
};

struct ReloadOutcome {
  bool ok = false;
  std::string text;  // the daemon's last_reload: "reloaded: generation 3, 2 workers" / "reload failed: ..."
};

/// Polls `status` on socket until the sum of reloads and failed reloads exceeds before's and none is under way,
/// for at most wait. Throws ClientError: 69 when the daemon stops answering, 75 when the wait runs out.
ReloadOutcome waitForReload(const std::string& socket, ReloadCounts before, std::chrono::milliseconds wait);

}  // namespace cppd::ctl
