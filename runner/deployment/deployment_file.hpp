#pragma once

// The deployment file (`cppd -y FILE` / `cppd --config FILE`): cppd's .tac, in TOML. It composes several
// plugin services into one process:
//
//   [cppd]
//   pidfile = "/run/poetry/cppd.pid"
//   logfile = "/var/log/poetry.log"
//
//   [[service]]
//   plugin = "fastpoetry"
//   name = "ecstasy"
//   port = "tcp:10000:interface=127.0.0.1"
//   poem = "/usr/share/cppd/poetry/ecstasy.txt"
//
// Reading the file checks its shape. The [cppd] values are then checked against the runner's declarations and
// the services' against their plugins', and each is fed in as a typed value (runnerOptions(), serviceOptions()),
// without a detour through a command line, so every error names the file, the line and the key.

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <cppd/option_spec.hpp>
#include <cppd/options.hpp>

#include "options/server_options.hpp"

namespace cppd::runner {

/// One `key = value` of a [cppd] or [[service]] table, with its TOML type.
struct DeploymentOption {
  std::string key;
  std::variant<bool, std::int64_t, double, std::string> value;
  int line = 0;
  /// An integer written in base 10. For an octal option it is read as octal digits, as typed on a command line
  /// (mode = 644 is 0644); one written 0o644 (or 0x1a4) is the number itself.
  bool decimal = true;
};

/// One [[service]] table.
struct DeployedService {
  std::string plugin;
  std::string name;  // the `name` key, or the plugin name when absent
  int line = 0;      // the line of the [[service]] header
  bool firstWorkerOnly = false;  // `workers = 1`: with --workers, only worker 1 runs it
  std::vector<DeploymentOption> options;
};

struct DeploymentFile {
  std::string path;                     // absolute
  std::vector<DeploymentOption> runner;  // the [cppd] table, in file order
  std::vector<DeployedService> services;
};

/// Reads and checks path. Throws cppd::Error: noInput when the file cannot be read, config for a TOML syntax
/// error, an unknown table or key, a value that is not a scalar, a service without `plugin` or a duplicate
/// service name — each message starts "FILE:LINE: ".
DeploymentFile readDeploymentFile(const std::string& path);

/// The [cppd] table as typed runner options (server_options.hpp's runnerOptionSpecs), for parseServerOptions to
/// merge under the command line: each value converted by its option's kind and checked on its own as the
/// command line would check it. An unknown key, a command-line action (help, version...), a wrong type or a
/// bad value is a cppd::Error(config) naming the file, the key's line, the key and the value
/// ("FILE:3: [cppd] key 'umask': option --umask: '1777' is more than 0777").
/// The user and group the table names are looked up here, once: accounts (when not null) receives what was found,
/// for resolveAccounts.
std::map<std::string, OptionValue> runnerOptions(const DeploymentFile& file, const std::string& launchDir,
                                                 AccountLookups* accounts = nullptr);

/// The options of service for a plugin declaring specs: each value converted by its option's kind without a
/// detour through a command line, then defaults, required options and validators as on the command line
/// (completeOptions). An unknown key, a boolean for a valued option or a non-boolean for a flag is a
/// cppd::Error(config) naming the file, the key's line and the key; a bad value or a missing required option
/// names the service's line ("FILE:1: service 'x': fastpoetry: option --port: invalid endpoint ...").
Options serviceOptions(const DeploymentFile& file, const DeployedService& service, const std::string& tapname,
                       const std::vector<OptionSpec>& specs, const std::string& launchDir);

/// Prefixes message with "FILE:LINE: service 'NAME': " for errors found later (missing required option...).
std::string describeServiceError(const DeploymentFile& file, const DeployedService& service,
                                 const std::string& message);

}  // namespace cppd::runner
