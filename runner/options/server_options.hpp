#pragma once

// The runner's own command line (twistd's ServerOptions): everything before the plugin name.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "logging/log_format.hpp"

namespace cppd::runner {

/// Parsed runner options. Paths (logfile, pidfile, rundir, chroot, plugin path) are already absolute: relative
/// ones were resolved against launchDir, the working directory at launch, before any chdir.
struct ServerOptions {
  bool nodaemon = false;                      // -n, --nodaemon
  std::optional<std::string> logfile;         // -l, --logfile; "-" = stdout; unset = default (see effectiveLogfile)
  bool syslog = false;                        // --syslog
  std::string prefix = "cppd";                // --prefix (syslog ident)
  LogFormat logFormat = LogFormat::text;      // --log-format (the log file and stdout; syslog stays text)
  std::string pidfile;                        // --pidfile; default <launchDir>/cppd.pid; empty = no pidfile
  std::string rundir;                         // -d, --rundir; default "." resolved (launchDir), "/" with --chroot
  std::optional<std::string> chroot;          // --chroot
  std::optional<uid_t> uid;                   // -u, --uid (resolved)
  std::string uidName;                        // the user as given (name or number), empty if none
  std::string userName;                       // -u's passwd name (for initgroups); empty without an entry
  std::optional<gid_t> gid;                   // -g, --gid (resolved; defaults to the user's primary gid at drop)
  std::string gidName;                        // the group as given, empty if none
  bool euid = false;                          // --euid
  bool allowRoot = false;                     // --allow-root: file-serving plugins may run as root without -u
  std::optional<mode_t> umask;                // --umask (octal); unset = 0077 when daemonizing, untouched with -n
  std::uint64_t logfileMaxSize = 1000000;     // --logfile-max-size (bytes, k/M suffixes; 0 = never rotate)
  std::optional<unsigned> logfileKeep = 10;   // --logfile-keep: a rotation renames each kept file, so bounded
  double shutdownTimeout = 30.0;              // --shutdown-timeout (seconds; 0 = no timeout)
  std::vector<std::string> pluginPath;        // --plugin-path DIR (repeatable, absolute)
  bool listPlugins = false;                   // --list-plugins
  bool verbose = false;                       // -v, --verbose
  std::optional<std::string> config;          // -y, --config: a deployment file (absolute)
  bool help = false;                          // -h, --help
  bool version = false;                       // --version
  std::string command;                        // the plugin name (first non-option word), empty if none
  std::vector<std::string> commandArgs;       // every word after the plugin name, untouched
  std::string launchDir;                      // cwd at parse time

  /// The log destination after defaults: "-" (stdout) with -n and no -l, "<launchDir>/cppd.log" when
  /// daemonizing, the given (absolute) path otherwise. Meaningless with --syslog.
  std::string effectiveLogfile() const;
  /// The umask to apply: the given one, 0077 when daemonizing, nullopt (leave alone) with -n.
  std::optional<mode_t> effectiveUmask() const;
};

/// Parses argv[1..] (argv[0] is the program name). Stops at the first non-option word (the plugin name) and
/// puts everything after it in commandArgs; "--" also ends the runner options. Accepts "--opt value" and
/// "--opt=value", unique long-option prefixes and combined short flags ("-nv").
/// Throws cppd::UsageError (exit 64) for an unknown option ("unknown option '--bogus'"), a missing or
/// unexpected value, a bad number or umask (the message names the value), an unknown user or group (the message
/// names it), and "Daemons cannot log to stdout" for "-l -" without -n.
ServerOptions parseServerOptions(int argc, const char* const* argv);
ServerOptions parseServerOptions(const std::vector<std::string>& args);  // args excludes the program name

/// The "Options:" block of `cppd --help` in twistd's layout, one line per option:
/// "  -n, --nodaemon          don't daemonize, don't use default umask of 0077", with " [default: X]".
/// Ends with a newline. Does not include the "Usage:" synopsis or the Commands list.
std::string serverOptionsUsage();

}  // namespace cppd::runner
