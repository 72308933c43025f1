#pragma once

#include <functional>
#include <string>

#include <cppd/export.hpp>

namespace cppd {

/// How the runner checks and converts an option's value before the plugin sees it.
enum class OptionKind {
  flag,      // no value; --name sets it, --no-name clears it (offered when the default is "true")
  string,    // any text
  integer,   // a decimal integer (64-bit signed)
  port,      // an integer 0..65535
  endpoint,  // an endpoint string ("tcp:8080:interface=127.0.0.1") or a bare port number
  path,      // a file-system path; relative paths are made absolute against the launch directory
  octal,     // an octal number ("022", "0644")
  size,      // a byte count, with an optional k/M/G suffix (powers of 1024)
  seconds,   // a non-negative duration in seconds, decimals allowed ("2.5")
};

/// The name of kind as shown in help ("INT", "PORT", "ENDPOINT", ...), empty for flags.
CPPD_API std::string valueNameFor(OptionKind kind);

/// Declares one plugin option, as Twisted's optParameters/optFlags rows do. The runner builds the command-line
/// parser from these declarations; plugins never see the parser.
struct OptionSpec {
  std::string longName;            // "port" for --port; letters, digits and '-'
  std::string shortName;           // "p" for -p, or empty
  std::string help;                // one sentence for --help
  std::string defaultValue;        // as it would be typed; empty means "no default"
  OptionKind kind = OptionKind::string;
  bool required = false;           // a missing required option is a usage error naming it
  /// Optional check run after conversion (Twisted's postOptions for one option). Throws cppd::UsageError with
  /// a message naming the value and what is expected. Runs in the runner before any fork.
  std::function<void(const std::string& value)> validator;
};

}  // namespace cppd
