#pragma once

#include <memory>
#include <string>
#include <vector>

#include <cppd/export.hpp>
#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>
#include <cppd/service.hpp>

namespace cppd {

/// What a plugin exports (Twisted's IServiceMaker): a subcommand name, a one-line description, the options it
/// takes, and the factory of its service. Released virtual functions are frozen: changing this class bumps
/// CPPD_SDK_ABI_VERSION.
class CPPD_API IServiceMaker {
 public:
  virtual ~IServiceMaker();

  /// The subcommand: "fastpoetry" in `cppd fastpoetry --port 10000`. Lower case letters, digits, '-', '_'.
  virtual std::string tapname() const = 0;

  /// One line, shown in the plugin listing and in `cppd TAPNAME --help`.
  virtual std::string description() const = 0;

  /// The options the plugin accepts.
  virtual std::vector<OptionSpec> options() const = 0;

  /// Builds the service from checked options. Runs before any fork, so throw cppd::UsageError (or
  /// cppd::Error) for what the option parser could not check; the user sees the message and exit code 64.
  ///
  /// Paths in options and --chroot: makeService runs on the host, before the runner chroots (and before it
  /// drops privileges); privilegedStartService and startService run inside the new root. The rule for plugins:
  /// a path given in an option names a file or directory of the host, resolved here, and what it names is held
  /// open (a descriptor, a cppd::DirectoryJail for a served tree) or read into memory before makeService
  /// returns, so the service behaves the same with and without --chroot. Never keep a path string to open
  /// later: after a chroot it names something else, or nothing.
  virtual std::shared_ptr<IService> makeService(const Options& options) = 0;

  /// True for a plugin that hands the host's files to clients who need not be local users (an FTP or HTTP file
  /// server): run as root it would serve root-only files to anyone, so the runner refuses to start it as root
  /// unless -u drops to another user or --allow-root says root is meant. Asked once, after makeService, on the
  /// main thread; must not throw. The default, false, suits a service that serves no files of the host.
  virtual bool servesFiles() const;
};

}  // namespace cppd
