#pragma once

#include <functional>
#include <string>

#include <cppd/export.hpp>

namespace cppd {

/// How the runner checks and converts an option's value before the plugin sees it, and which typed reads
/// Options::get<T> allows for it. Values are only ever appended (they are recorded in plugin files).
enum class OptionKind {
  flag,      // no value; --name sets it, --no-name clears it (offered when the default is "true"). get<bool>
  string,    // any text. get<std::string>
  integer,   // a decimal integer (64-bit signed). get<int>, get<long long>, ...
  port,      // an integer 0..65535. get<std::uint16_t>, ...
  endpoint,  // an endpoint string ("tcp:8080:interface=127.0.0.1") or a bare port number. get<cppd::Endpoint>
  path,      // a file-system path, made absolute against the launch directory. get<std::string>, get<path>
  octal,     // an octal number ("022", "0644"). get<unsigned>, get<mode_t>, ...
  size,      // a byte count, with an optional k/M/G suffix (powers of 1024). get<std::uint64_t>, get<size_t>
  seconds,   // a non-negative duration in seconds, decimals allowed ("2.5"). get<std::chrono::milliseconds>, ...
  count,     // a non-negative integer (a limit, a number of files). get<std::size_t>, get<unsigned>, ...
  // New kinds go last: plugin metadata notes store the kind as its number.
};

/// The name of kind as shown in help ("INT", "PORT", "ENDPOINT", ...), empty for flags.
CPPD_API std::string valueNameFor(OptionKind kind);

/// Declares one option, as Twisted's optParameters/optFlags rows do. The runner builds the parser from these
/// declarations (its own options are declared the same way); plugins never see the parser. Write it with
/// designated initializers, naming only what differs from the defaults:
///
///   {.longName = "port", .shortName = "p", .help = "Where to listen.", .defaultValue = "8080",
///    .kind = cppd::OptionKind::endpoint}
///
/// The default is the only default: Options::get<T> of an option that has neither a value nor a default is an
/// error, so an option that may stay unset is read as get<std::optional<T>>.
struct OptionSpec {
  // Every member has a default, so a designated initializer names only what it sets.
  std::string longName = {};       // "port" for --port; letters, digits, '-' and '_'
  std::string shortName = {};      // "p" for -p, or empty
  std::string help = {};           // one sentence for --help
  std::string defaultValue = {};   // as it would be typed; empty means "no default"
  OptionKind kind = OptionKind::string;
  bool required = false;           // a missing required option is a usage error naming it
  /// Optional check run after conversion (Twisted's postOptions for one option), given the converted value as
  /// text (an absolute path, an octal or size value in decimal). Throws cppd::UsageError with a message naming
  /// the value and what is expected. Runs in the runner before any fork.
  std::function<void(const std::string& value)> validator = {};
};

}  // namespace cppd
