#pragma once

// Reading a plugin's metadata (tapname, description) without risking this process, as GStreamer's
// gst-plugin-scanner does: each plugin is loaded in a child process (cppd re-executed as
// `cppd --scan-plugin FD FILE`, given the checked file as descriptor FD) with a deadline, so a plugin that
// crashes or hangs in a static constructor or in its factory becomes a reason in the listing instead of taking
// the listing down.

#include <chrono>
#include <string>
#include <vector>

#include "plugin/plugin_file.hpp"

namespace cppd::runner {

/// What scanning one plugin file found: its metadata, or why it cannot be used.
struct ScanResult {
  bool ok = false;
  std::string tapname;
  std::string description;
  std::string reason;  // when !ok: "crashed while loading: signal 11 (Segmentation fault)", ...
  /// False for outcomes that say more about the moment than about the file (a scan timed out or was killed,
  /// the scanner could not start): those are not cached, so the next run tries again.
  bool cacheable = true;
};

struct ScanSettings {
  std::string scannerExecutable = "/proc/self/exe";  // a cppd binary that understands --scan-plugin
  std::chrono::milliseconds timeout{10000};          // per plugin; a scan still running then is killed
  unsigned parallelism = 4;                          // children at a time
  /// Defaults, with the timeout from CPPD_PLUGIN_SCAN_TIMEOUT (seconds, decimals allowed) when set.
  static ScanSettings fromEnvironment();
};

/// Scans each checked file (results in the same order); each child gets the file's descriptor, never its path.
/// Files whose ELF header is wrong are rejected here, without a child. Never throws for a bad plugin; throws
/// cppd::Error (os) only if no process can be started.
std::vector<ScanResult> scanPlugins(const std::vector<PluginFile>& files, const ScanSettings& settings);

/// The child side: checks and loads the file open on fd (path only names it in messages) in this process,
/// writes the result to stdout in the scanner's line format and returns the exit status. Output the plugin
/// itself writes to stdout is sent to stderr instead.
int runPluginScan(int fd, const std::string& path);

/// The hidden command-line switch that selects runPluginScan: `cppd --scan-plugin FD PATH`.
inline constexpr const char* scanPluginSwitch = "--scan-plugin";
/// The descriptor the scanner child finds the plugin file on.
inline constexpr int scanPluginFd = 3;

}  // namespace cppd::runner
