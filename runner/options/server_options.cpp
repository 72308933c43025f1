#include "options/server_options.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string_view>

#include <fmt/core.h>

#include <cppd/error.hpp>

#include "process/privileges.hpp"

namespace cppd::runner {
namespace {

// One runner option. Kept in twistd's help order (sorted by short name, else long name).
struct OptionDef {
  std::string_view longName;
  char shortName;  // 0 when none
  bool takesValue;
  std::string_view doc;
  std::string_view defaultDoc;  // shown as " [default: X]" when not empty
};

constexpr OptionDef kOptions[] = {
    {"rundir", 'd', true, "Change to a supplied directory before running", "."},
    {"gid", 'g', true, "The gid to run as (name or number; default: the --uid user's primary group)", ""},
    {"help", 'h', false, "Display this help and exit.", ""},
    {"logfile", 'l', true, "Log to a specified file, - for stdout", "cppd.log, or stdout with -n"},
    {"nodaemon", 'n', false, "don't daemonize, don't use default umask of 0077", ""},
    {"uid", 'u', true, "The uid to run as (name or number)", ""},
    {"verbose", 'v', false, "Show why each plugin candidate was accepted or refused", ""},
    {"config", 'y', true, "Run the services of a deployment file (TOML) instead of one plugin", ""},
    {"allow-root", 0, false, "Let plugins that serve files (ftp, web) run as root when no --uid is given", ""},
    {"chroot", 0, true, "Chroot to a supplied directory before running", ""},
    {"euid", 0, false, "Set only effective user-id rather than real user-id.", ""},
    {"list-plugins", 0, false, "List the plugins found (with load errors) and exit", ""},
    {"logfile-keep", 0, true, "Rotated log files to keep (.1 is the newest)", "10"},
    {"logfile-max-size", 0, true, "Rotate the log file at this size in bytes (k/M/G suffixes; 0 = never)",
     "1000000"},
    {"pidfile", 0, true, "Name of the pidfile (empty: no pidfile)", "cppd.pid"},
    {"plugin-path", 0, true, "Also search DIR for plugins (repeatable)", ""},
    {"prefix", 0, true, "use the given prefix when syslogging", "cppd"},
    {"shutdown-timeout", 0, true, "Seconds to wait for services to stop before forcing the exit (0: wait forever)",
     "30"},
    {"syslog", 0, false, "Log to syslog, not to file", ""},
    {"umask", 0, true, "The (octal) file creation mask to apply.", "0077 when daemonizing"},
    {"version", 0, false, "Print version information and exit.", ""},
};

const OptionDef* findLong(std::string_view name) {
  // Like getopt: an exact name wins, otherwise any unique prefix ("--nodaem", "--pidf=").
  const OptionDef* prefixMatch = nullptr;
  int matches = 0;
  std::string candidates;
  for (const auto& def : kOptions) {
    if (def.longName == name) return &def;
    if (!name.empty() && def.longName.substr(0, name.size()) == name) {
      candidates += fmt::format("{}--{}", candidates.empty() ? "" : ", ", def.longName);
      prefixMatch = &def;
      ++matches;
    }
  }
  if (matches > 1) throw UsageError(fmt::format("option --{} is not a unique prefix ({})", name, candidates));
  return prefixMatch;
}

const OptionDef* findShort(char c) {
  for (const auto& def : kOptions) {
    if (def.shortName == c) return &def;
  }
  return nullptr;
}

std::string absolute(const std::string& launchDir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  std::string joined = (std::filesystem::path(launchDir) / path).lexically_normal().string();
  if (joined.size() > 1 && joined.back() == '/') joined.pop_back();  // "dir/." normalises to "dir/"
  return joined;
}

std::uint64_t parseSize(const std::string& value) {
  std::size_t digits = 0;
  while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9') ++digits;
  std::uint64_t multiplier = 1;
  const std::string suffix = value.substr(digits);
  if (suffix == "k" || suffix == "K") multiplier = 1024;
  else if (suffix == "m" || suffix == "M") multiplier = 1024 * 1024;
  else if (suffix == "g" || suffix == "G") multiplier = 1024ull * 1024 * 1024;
  else if (!suffix.empty()) digits = 0;
  errno = 0;
  const unsigned long long number = digits ? std::strtoull(value.substr(0, digits).c_str(), nullptr, 10) : 0;
  if (digits == 0 || errno == ERANGE || number > UINT64_MAX / multiplier) {
    throw UsageError(fmt::format("invalid --logfile-max-size value '{}': expected bytes, optionally with a k, M or "
                                 "G suffix (1000000, 512k, 10M)", value));
  }
  return number * multiplier;
}

unsigned parseCount(const std::string& value) {
  char* end = nullptr;
  errno = 0;
  const unsigned long n = std::strtoul(value.c_str(), &end, 10);
  if (value.empty() || *end != '\0' || value.front() == '-' || errno == ERANGE || n > 1000000) {
    throw UsageError(fmt::format("invalid --logfile-keep value '{}': expected a number of files (0 or more)", value));
  }
  return static_cast<unsigned>(n);
}

double parseSeconds(const std::string& value) {
  char* end = nullptr;
  const double seconds = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !(seconds >= 0) || seconds > 1e7) {
    throw UsageError(fmt::format("invalid --shutdown-timeout value '{}': expected seconds (0 or more)", value));
  }
  return seconds;
}

mode_t parseUmask(const std::string& value) {
  const bool octal = !value.empty() && value.size() <= 6 &&
                     std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '7'; });
  const unsigned long mask = octal ? std::strtoul(value.c_str(), nullptr, 8) : 01000;
  if (mask > 0777) {
    throw UsageError(fmt::format("invalid --umask value '{}': expected an octal mask such as 022 or 0077", value));
  }
  return static_cast<mode_t>(mask);
}

class Parser {
 public:
  explicit Parser(ServerOptions& out) : o_(out) {}

  void apply(const OptionDef& def, const std::string& value) {
    const std::string_view n = def.longName;
    if (n == "nodaemon") o_.nodaemon = true;
    else if (n == "logfile") o_.logfile = value.empty() ? std::string("-") : value;
    else if (n == "syslog") o_.syslog = true;
    else if (n == "prefix") o_.prefix = value;
    else if (n == "pidfile") pidfile_ = value;
    else if (n == "rundir") rundir_ = value;
    else if (n == "chroot") o_.chroot = value;
    else if (n == "uid") o_.uidName = value;
    else if (n == "gid") o_.gidName = value;
    else if (n == "euid") o_.euid = true;
    else if (n == "allow-root") o_.allowRoot = true;
    else if (n == "umask") o_.umask = parseUmask(value);
    else if (n == "logfile-max-size") o_.logfileMaxSize = parseSize(value);
    else if (n == "logfile-keep") o_.logfileKeep = parseCount(value);
    else if (n == "shutdown-timeout") o_.shutdownTimeout = parseSeconds(value);
    else if (n == "plugin-path") o_.pluginPath.push_back(value);
    else if (n == "list-plugins") o_.listPlugins = true;
    else if (n == "verbose") o_.verbose = true;
    else if (n == "config") o_.config = value;
    else if (n == "help") o_.help = true;
    else if (n == "version") o_.version = true;
  }

  void parse(const std::vector<std::string>& args) {
    std::size_t i = 0;
    auto next = [&](std::string_view name) -> std::string {
      if (i + 1 >= args.size()) throw UsageError(fmt::format("option {} requires an argument", name));
      return args[++i];
    };
    for (; i < args.size(); ++i) {
      const std::string& arg = args[i];
      if (arg == "--") {
        ++i;
        break;
      }
      if (arg.size() < 2 || arg[0] != '-') break;  // the plugin name
      if (arg[1] == '-') {
        const std::size_t eq = arg.find('=');
        const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        const OptionDef* def = findLong(name);
        if (!def) throw UsageError(fmt::format("unknown option '--{}'", name));
        if (!def->takesValue && eq != std::string::npos) {
          throw UsageError(fmt::format("option --{} must not have an argument", def->longName));
        }
        apply(*def, def->takesValue ? (eq != std::string::npos ? arg.substr(eq + 1)
                                                                : next(fmt::format("--{}", def->longName)))
                                    : std::string());
        continue;
      }
      for (std::size_t k = 1; k < arg.size(); ++k) {  // combined short flags: -nv, -lfile, -l file
        const OptionDef* def = findShort(arg[k]);
        if (!def) throw UsageError(fmt::format("unknown option '-{}'", arg[k]));
        if (!def->takesValue) {
          apply(*def, {});
          continue;
        }
        apply(*def, k + 1 < arg.size() ? arg.substr(k + 1) : next(fmt::format("-{}", arg[k])));
        break;
      }
    }
    if (i < args.size()) {
      if (args[i].empty()) throw UsageError("the command (plugin name) is empty; 'cppd --help' lists the commands");
      o_.command = args[i];
      o_.commandArgs.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
    }
  }

  void finish() {
    const std::string& dir = o_.launchDir;
    if (o_.logfile && *o_.logfile != "-") o_.logfile = absolute(dir, *o_.logfile);
    o_.pidfile = pidfile_ ? absolute(dir, *pidfile_) : absolute(dir, "cppd.pid");
    if (o_.chroot) o_.chroot = absolute(dir, *o_.chroot);
    if (o_.config) o_.config = absolute(dir, *o_.config);
    // Inside a chroot the rundir names a directory of the new root (twistd: "/" unless given).
    o_.rundir = o_.chroot ? absolute("/", rundir_.value_or("/")) : absolute(dir, rundir_.value_or("."));
    for (auto& p : o_.pluginPath) p = absolute(dir, p);
    if (!o_.nodaemon && !o_.syslog && o_.logfile == "-" && !o_.help && !o_.version && !o_.listPlugins) {
      throw UsageError("Daemons cannot log to stdout: use --nodaemon, --syslog or a --logfile path");
    }
    if (!o_.uidName.empty()) {
      const ResolvedUser user = resolveUser(o_.uidName);
      o_.uid = user.uid;
      if (o_.gidName.empty()) {
        if (!user.primaryGid) {
          throw UsageError(fmt::format("uid {} has no passwd entry, so its primary group is unknown: give --gid",
                                       o_.uidName));
        }
        o_.gid = *user.primaryGid;
      }
    }
    if (!o_.gidName.empty()) o_.gid = resolveGroup(o_.gidName);
  }

 private:
  ServerOptions& o_;
  std::optional<std::string> pidfile_;
  std::optional<std::string> rundir_;
};

}  // namespace

std::string ServerOptions::effectiveLogfile() const {
  if (logfile) return *logfile;
  return nodaemon ? std::string("-") : absolute(launchDir, "cppd.log");
}

std::optional<mode_t> ServerOptions::effectiveUmask() const {
  if (umask) return umask;
  if (nodaemon) return std::nullopt;
  return static_cast<mode_t>(0077);
}

ServerOptions parseServerOptions(const std::vector<std::string>& args) {
  ServerOptions options;
  std::error_code ec;
  options.launchDir = std::filesystem::current_path(ec).string();
  if (ec) throw systemError("getcwd", ".", ec.value());
  Parser parser(options);
  parser.parse(args);
  parser.finish();
  return options;
}

ServerOptions parseServerOptions(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parseServerOptions(args);
}

std::string serverOptionsUsage() {
  std::string out = "Options:\n";
  for (const auto& def : kOptions) {
    std::string head = def.shortName ? fmt::format("  -{}, --{}", def.shortName, def.longName)
                                     : fmt::format("      --{}", def.longName);
    if (def.takesValue) head += '=';
    std::string line = fmt::format("{:<26}{}", head, def.doc);
    if (head.size() >= 26) line = fmt::format("{} {}", head, def.doc);
    if (!def.defaultDoc.empty()) line += fmt::format(" [default: {}]", def.defaultDoc);
    out += line + '\n';
  }
  return out;
}

}  // namespace cppd::runner
