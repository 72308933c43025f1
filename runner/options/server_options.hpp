#pragma once

// The runner's own command line (twistd's ServerOptions): everything before the plugin name.

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>

#include "logging/log_format.hpp"
#include "process/privileges.hpp"

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
  std::optional<std::string> control;         // --control: the control socket (absolute); "" = none
  std::optional<std::string> metrics;         // --metrics: the metrics endpoint (checked); unset = none
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
  double reloadTimeout = 30.0;                // --reload-timeout (seconds, > 0)
  std::optional<unsigned> workers;            // --workers N|auto (resolved); unset = one process, no supervisor
  double workerTimeout = 30.0;                // --worker-timeout (seconds without a heartbeat; 0 = none)
  std::uint64_t maxRequests = 0;              // --max-requests (connections before a worker is recycled; 0 = never)
  std::uint64_t maxRequestsJitter = 0;        // --max-requests-jitter (up to this many more, at random)
  bool reusePort = false;                     // --reuseport: one SO_REUSEPORT socket per worker
  std::vector<std::string> pluginPath;        // --plugin-path DIR (repeatable, absolute)
  bool listPlugins = false;                   // --list-plugins
  bool check = false;                         // --check: build everything a start would, run nothing
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
  /// The control socket after defaults: the given path ("" = none); with no --control, the pidfile's path with
  /// the extension .ctl (cppd.pid: cppd.ctl; <launchDir>/cppd.ctl without a pidfile) when daemonizing without
  /// --chroot, none otherwise.
  std::string effectiveControl() const;
};

/// Parses argv[1..] (argv[0] is the program name). Stops at the first non-option word (the plugin name) and
/// puts everything after it in commandArgs; "--" also ends the runner options. Accepts "--opt value" and
/// "--opt=value", unique long-option prefixes and combined short flags ("-nv").
/// Throws cppd::UsageError (exit 64) for an unknown option ("unknown option '--bogus'"), a missing or
/// unexpected value, a bad number or umask (the message names the value), an unknown user or group (the message
/// names it), and "Daemons cannot log to stdout" for "-l -" without -n.
ServerOptions parseServerOptions(int argc, const char* const* argv);
ServerOptions parseServerOptions(const std::vector<std::string>& args);  // args excludes the program name

/// The same with typed values from another source (a deployment file's [cppd] table), by long name, already
/// converted by their options' kinds; a value the words give overrides a preset one (a preset plugin-path is
/// searched before the words' ones). Same errors.
ServerOptions parseServerOptions(const std::vector<std::string>& args, std::map<std::string, OptionValue> preset);

/// Whether parseServerOptions looks up --uid and --gid, or leaves it to the caller (resolveAccounts), who parses
/// more than once or has looked them up already.
enum class AccountLookup { now, later };
ServerOptions parseServerOptions(const std::vector<std::string>& args, std::map<std::string, OptionValue> preset,
                                 AccountLookup lookup);

/// The user and group named by --uid and --gid (as written) as they were looked up, so that the run uses what one
/// lookup found: a deployment file's [cppd] check looks them up to name its line in an error.
struct AccountLookups {
  std::string uidName;
  std::optional<ResolvedUser> user;
  std::string gidName;
  std::optional<gid_t> group;
};

/// Sets uid, userName and gid (the user's primary group without gidName) from uidName and gidName, looking up
/// only what found has not for the same name. Throws cppd::UsageError naming the user or group ("unknown user
/// 'x' (--uid): ..."), or asking for --gid for a uid without a passwd entry.
void resolveAccounts(ServerOptions& options, const AccountLookups& found = {});

/// The runner's option declarations, in --help order: what a deployment file's [cppd] keys are checked against.
const std::vector<OptionSpec>& runnerOptionSpecs();

/// True for the options that are actions of the command line (--help, --version, --list-plugins, --config,
/// --check), not settings of a server: a deployment file that gave them would have them silently ignored.
bool isCommandLineAction(const std::string& name);

/// Checks one runner option's typed value on its own, as the command line checks it (bounds, empty paths),
/// leaving checks between options, and the lookup of the user or group it names, to parseServerOptions. Throws cppd::UsageError with
/// the command line's message ("option --umask: '1000' is more than 0777").
void checkServerOption(const std::string& name, const OptionValue& value);

/// The "Options:" block of `cppd --help` in twistd's layout, one line per option:
/// "  -n, --nodaemon          don't daemonize, don't use default umask of 0077", with " [default: X]".
/// Ends with a newline. Does not include the "Usage:" synopsis or the Commands list.
std::string serverOptionsUsage();

}  // namespace cppd::runner
