// The runner's own command line (and the [cppd] table of a deployment file, which becomes runner arguments).
// Input: the arguments after argv[0], separated by NUL bytes.
// Checks: parseServerOptions refuses with cppd::UsageError (or a cppd::Error from getcwd) only; an accepted
// result has absolute paths and a plugin command that is the first non-option word.

#include <options/server_options.hpp>

#include "fuzz_support.hpp"

namespace {

bool absoluteOrEmpty(const std::string& path) { return path.empty() || path.front() == '/'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto args = cppd::fuzz::splitOnNul(data, size);
  cppd::runner::ServerOptions options;
  if (!cppd::fuzz::refusedOrAccepted("parseServerOptions", [&] { options = cppd::runner::parseServerOptions(args); })) {
    return 0;
  }
  using cppd::fuzz::check;
  check(absoluteOrEmpty(options.pidfile), "pidfile is not absolute: '" + options.pidfile + "'");
  check(absoluteOrEmpty(options.rundir), "rundir is not absolute: '" + options.rundir + "'");
  if (options.chroot) check(absoluteOrEmpty(*options.chroot), "chroot is not absolute: '" + *options.chroot + "'");
  for (const auto& dir : options.pluginPath) check(absoluteOrEmpty(dir), "plugin path is not absolute: '" + dir + "'");
  if (options.logfile && *options.logfile != "-") {
    check(absoluteOrEmpty(*options.logfile), "logfile is not absolute: '" + *options.logfile + "'");
  }
  if (options.umask) check(*options.umask <= 0777, "umask out of range");
  check(options.shutdownTimeout >= 0, "negative shutdown timeout");
  if (!options.command.empty()) {
    check(options.commandArgs.size() < args.size(), "more command arguments than arguments");
  }
  (void)options.effectiveLogfile();
  (void)options.effectiveUmask();
  return 0;
}
