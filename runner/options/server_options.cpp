#include "options/server_options.hpp"

#include <filesystem>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include <cppd/endpoint.hpp>
#include <cppd/error.hpp>
#include <cppd/option_spec.hpp>

#include "options/plugin_options.hpp"
#include "process/privileges.hpp"
#include "workers/worker_count.hpp"

namespace cppd::runner {

constexpr std::size_t maxSocketPath = 107;  // sockaddr_un's sun_path, less its NUL

// The runner's options, declared like a plugin's and parsed by the same engine (plugin_options.hpp), in
// twistd's help order (sorted by short name, else long name). Defaults that depend on other options (the log
// file, the umask, the run directory) are applied by ServerOptions and only shown in the help.
const std::vector<OptionSpec>& runnerOptionSpecs() {
  using K = OptionKind;
  static const std::vector<OptionSpec> specs{
      {.longName = "rundir", .shortName = "d", .help = "Change to a supplied directory before running [default: .]"},
      {.longName = "gid", .shortName = "g",
       .help = "The gid to run as (name or number; default: the --uid user's primary group)"},
      {.longName = "help", .shortName = "h", .help = "Display this help and exit.", .kind = K::flag},
      {.longName = "logfile", .shortName = "l",
       .help = "Log to a specified file, - for stdout [default: cppd.log, or stdout with -n]"},
      {.longName = "nodaemon", .shortName = "n", .help = "don't daemonize, don't use default umask of 0077",
       .kind = K::flag},
      {.longName = "uid", .shortName = "u", .help = "The uid to run as (name or number)"},
      {.longName = "verbose", .shortName = "v", .help = "Show why each plugin candidate was accepted or refused",
       .kind = K::flag},
      {.longName = "config", .shortName = "y",
       .help = "Run the services of a deployment file (TOML) instead of one plugin"},
      {.longName = "allow-root", .help = "Let plugins that serve files (ftp, web) run as root when no --uid is given",
       .kind = K::flag},
      {.longName = "chroot", .help = "Chroot to a supplied directory before running"},
      {.longName = "check",
       .help = "Check the options, the deployment file, the plugins and the services they make, then exit "
               "(nothing is bound, opened for writing or started)",
       .kind = K::flag},
      {.longName = "control",
       .help = "The control socket for cppdctl (empty: none) [default: the pidfile's name with .ctl when "
               "daemonizing]"},
      {.longName = "euid", .help = "Set only effective user-id rather than real user-id.", .kind = K::flag},
      {.longName = "list-plugins", .help = "List the plugins found (with load errors) and exit", .kind = K::flag},
      {.longName = "logfile-keep", .help = "Rotated log files to keep (.1 is the newest)", .defaultValue = "10",
       .kind = K::count},
      {.longName = "log-format", .help = "Log line format: text (twistd's) or json (one object per line)",
       .defaultValue = "text"},
      {.longName = "logfile-max-size", .help = "Rotate the log file at this size in bytes (k/M/G suffixes; 0 = never)",
       .defaultValue = "1000000", .kind = K::size},
      {.longName = "max-requests",
       .help = "Replace a worker after it accepted this many connections (0: never)", .defaultValue = "0",
       .kind = K::count},
      {.longName = "max-requests-jitter",
       .help = "Add up to this many to --max-requests, at random per worker, so workers do not all restart at once",
       .defaultValue = "0", .kind = K::count},
      {.longName = "metrics",
       .help = "Serve GET /metrics (Prometheus) and GET /ready over HTTP on this endpoint, e.g. "
               "tcp:9100:interface=127.0.0.1 (empty: none)"},
      {.longName = "pidfile", .help = "Name of the pidfile (empty: no pidfile)", .defaultValue = "cppd.pid"},
      {.longName = "plugin-path", .help = "Also search DIR for plugins (repeatable)"},
      {.longName = "prefix", .help = "use the given prefix when syslogging", .defaultValue = "cppd"},
      {.longName = "reload-timeout",
       .help = "With --workers: seconds a reload's check and new workers may take before it is abandoned and the "
               "serving workers stay",
       .defaultValue = "30", .kind = K::seconds},
      {.longName = "reuseport",
       .help = "With --workers: give each worker its own listening socket (SO_REUSEPORT) and accept queue",
       .kind = K::flag},
      {.longName = "shutdown-timeout",
       .help = "Seconds to wait for services to stop before forcing the exit (0: wait forever)",
       .defaultValue = "30", .kind = K::seconds},
      {.longName = "syslog", .help = "Log to syslog, not to file", .kind = K::flag},
      {.longName = "umask", .help = "The (octal) file creation mask to apply. [default: 0077 when daemonizing]",
       .kind = K::octal},
      {.longName = "version", .help = "Print version information and exit.", .kind = K::flag},
      {.longName = "worker-timeout",
       .help = "Kill and replace a worker whose loop has not answered for this many seconds (0: never)",
       .defaultValue = "30", .kind = K::seconds},
      {.longName = "workers",
       .help = "Serve from N worker processes under a supervisor (N or auto: one per usable CPU) [default: one "
               "process, no supervisor]"},
  };
  return specs;
}

namespace {

const OptionSpec* findLong(std::string_view name) {
  // Like getopt: an exact name wins, otherwise any unique prefix ("--nodaem", "--pidf=").
  const OptionSpec* prefixMatch = nullptr;
  int matches = 0;
  std::string candidates;
  for (const auto& spec : runnerOptionSpecs()) {
    if (spec.longName == name) return &spec;
    if (!name.empty() && std::string_view(spec.longName).substr(0, name.size()) == name) {
      candidates += fmt::format("{}--{}", candidates.empty() ? "" : ", ", spec.longName);
      prefixMatch = &spec;
      ++matches;
    }
  }
  if (matches > 1) throw UsageError(fmt::format("option --{} is not a unique prefix ({})", name, candidates));
  return prefixMatch;
}

const OptionSpec* findShort(char c) {
  for (const auto& spec : runnerOptionSpecs()) {
    if (spec.shortName.size() == 1 && spec.shortName[0] == c) return &spec;
  }
  return nullptr;
}

// Where the runner's options end and the plugin's command line begins: at the first word that is neither an
// option nor an option's value, or after "--" (getopt's "+" mode; cxxopts reads options anywhere). Finding it
// means knowing which words take the next one as their value, so the scan also refuses what it cannot place (an
// unknown option, an ambiguous prefix, a missing value) and hands cxxopts each word in a spelling cxxopts reads:
// a long name in full (getopt takes unique prefixes) and a short option's attached value as a word of its own
// (cxxopts reads "-lfile" only when the value is alphanumeric). cxxopts does the parsing.
struct RunnerWords {
  std::vector<std::string> words;
  std::size_t next = 0;  // the first word after the runner's options
};

// "--name", "--name=value" or a unique prefix of the name, spelled in full. True when the next word is its value.
bool longWord(const std::string& arg, std::vector<std::string>& words) {
  const std::size_t eq = arg.find('=');
  const std::string name = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
  const OptionSpec* spec = findLong(name);
  if (!spec) throw UsageError(fmt::format("unknown option '--{}'", name));
  const bool flag = spec->kind == OptionKind::flag;
  if (flag && eq != std::string::npos) {
    // cxxopts would read "--nodaemon=1" as a value for the flag; getopt refuses it.
    throw UsageError(fmt::format("option --{} must not have an argument", spec->longName));
  }
  words.push_back("--" + spec->longName + (eq == std::string::npos ? "" : arg.substr(eq)));
  return !flag && eq == std::string::npos;
}

// Short options, combined ("-nv", "-nl file", "-lfile"): the first that takes a value takes the rest of the word,
// or the next word. True when the next word is its value.
bool shortWord(const std::string& arg, std::vector<std::string>& words) {
  for (std::size_t k = 1; k < arg.size(); ++k) {
    const OptionSpec* spec = findShort(arg[k]);
    if (!spec) throw UsageError(fmt::format("unknown option '-{}'", arg[k]));
    if (spec->kind == OptionKind::flag) continue;
    words.push_back(arg.substr(0, k + 1));
    if (k + 1 == arg.size()) return true;
    words.push_back(arg.substr(k + 1));
    return false;
  }
  words.push_back(arg);
  return false;
}

RunnerWords runnerWords(const std::vector<std::string>& args) {
  RunnerWords out;
  for (; out.next < args.size(); ++out.next) {
    const std::string& arg = args[out.next];
    if (arg == "--") {
      ++out.next;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the plugin name
    if (!(arg[1] == '-' ? longWord(arg, out.words) : shortWord(arg, out.words))) continue;
    if (out.next + 1 >= args.size()) throw UsageError(fmt::format("option {} requires an argument", arg));
    out.words.push_back(args[++out.next]);
  }
  return out;
}

std::string absolute(const std::string& launchDir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  std::string joined = (std::filesystem::path(launchDir) / path).lexically_normal().string();
  if (joined.size() > 1 && joined.back() == '/') joined.pop_back();  // "dir/." normalises to "dir/"
  return joined;
}

// A number within the runner's own bound, refused naming the option and the value.
template <typename T>
std::optional<T> bounded(const Options& given, const std::string& name, T max, std::string_view maxText) {
  const auto value = given.get<std::optional<T>>(name);
  if (value && *value > max) {
    // An octal value's text is kept in decimal (what a validator sees): show it as the user wrote it.
    std::string shown = given.text(name);
    if constexpr (std::is_integral_v<T>) {
      if (name == "umask") shown = fmt::format("{:o}", *value);
    }
    throw UsageError(fmt::format("option --{}: '{}' is more than {}", name, shown, maxText));
  }
  return value;
}

// The typed values as ServerOptions, relative paths made absolute against the launch directory.
void apply(const Options& v, ServerOptions& o) {
  const std::string& dir = o.launchDir;
  auto text = [&v](const char* name) { return v.get<std::optional<std::string>>(name); };
  o.nodaemon = v.get<bool>("nodaemon");
  o.syslog = v.get<bool>("syslog");
  o.euid = v.get<bool>("euid");
  o.allowRoot = v.get<bool>("allow-root");
  o.listPlugins = v.get<bool>("list-plugins");
  o.check = v.get<bool>("check");
  o.verbose = v.get<bool>("verbose");
  o.help = v.get<bool>("help");
  o.version = v.get<bool>("version");
  if (auto logfile = text("logfile")) o.logfile = logfile->empty() || *logfile == "-" ? "-" : absolute(dir, *logfile);
  o.prefix = v.get<std::string>("prefix");
  const auto format = v.get<std::string>("log-format");
  if (auto parsed = parseLogFormat(format)) {
    o.logFormat = *parsed;
  } else {
    throw UsageError(fmt::format("--log-format '{}' is not a log format: use text or json", format));
  }
  o.pidfile = absolute(dir, v.get<std::string>("pidfile"));
  if (auto control = text("control")) o.control = control->empty() ? *control : absolute(dir, *control);
  if (o.control && o.control->size() > maxSocketPath) {
    throw UsageError(fmt::format("option --control: '{}' is {} bytes; a socket path can have at most {}: give a "
                                 "shorter path", *o.control, o.control->size(), maxSocketPath));
  }
  if (auto metrics = text("metrics"); metrics && !metrics->empty()) {
    try {
      static_cast<void>(Endpoint::parse(*metrics));
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("option --metrics: {}", e.what()));
    }
    o.metrics = *metrics;
  }
  for (const char* name : {"chroot", "config", "rundir"}) {
    if (auto given = text(name); given && given->empty()) {
      throw UsageError(fmt::format("option --{} needs a path, not an empty value", name));
    }
  }
  if (auto chroot = text("chroot")) o.chroot = absolute(dir, *chroot);
  if (auto config = text("config")) o.config = absolute(dir, *config);
  // Inside a chroot the rundir names a directory of the new root (twistd: "/" unless given).
  o.rundir = o.chroot ? absolute("/", text("rundir").value_or("/")) : absolute(dir, text("rundir").value_or("."));
  o.uidName = text("uid").value_or("");
  o.gidName = text("gid").value_or("");
  if (auto mask = bounded<unsigned>(v, "umask", 0777, "0777")) o.umask = static_cast<mode_t>(*mask);
  o.logfileMaxSize = v.get<std::uint64_t>("logfile-max-size");
  o.logfileKeep = bounded<unsigned>(v, "logfile-keep", 1000000, "1000000");
  o.shutdownTimeout = *bounded<double>(v, "shutdown-timeout", 1e7, "10000000 seconds");
  if (auto workers = text("workers")) o.workers = parseWorkerCount(*workers);
  o.workerTimeout = *bounded<double>(v, "worker-timeout", 1e7, "10000000 seconds");
  o.reloadTimeout = *bounded<double>(v, "reload-timeout", 1e7, "10000000 seconds");
  if (o.reloadTimeout <= 0) throw UsageError("--reload-timeout: 0 is not allowed (a reload must end)");
  o.maxRequests = v.get<std::uint64_t>("max-requests");
  o.maxRequestsJitter = v.get<std::uint64_t>("max-requests-jitter");
  o.reusePort = v.get<bool>("reuseport");

}

}  // namespace

void resolveAccounts(ServerOptions& o, const AccountLookups& found) {
  if (!o.uidName.empty()) {
    const bool known = found.user && found.uidName == o.uidName;
    const ResolvedUser user = known ? *found.user : resolveUser(o.uidName);
    o.uid = user.uid;
    o.userName = user.name;
    if (o.gidName.empty()) {
      if (!user.primaryGid) {
        throw UsageError(fmt::format("uid {} has no passwd entry, so its primary group is unknown: give --gid",
                                     o.uidName));
      }
      o.gid = *user.primaryGid;
    }
  }
  if (!o.gidName.empty()) o.gid = found.group && found.gidName == o.gidName ? *found.group : resolveGroup(o.gidName);
}

std::string ServerOptions::effectiveLogfile() const {
  if (logfile) return *logfile;
  return nodaemon ? std::string("-") : absolute(launchDir, "cppd.log");
}

std::string ServerOptions::effectiveControl() const {
  if (control) return *control;
  // A default inside a chroot would name a directory of the new root, which rarely exists: only when asked.
  if (nodaemon || chroot) return {};
  // Named after the pidfile (cppd.pid: cppd.ctl, web.pid: web.ctl), so daemons that share a directory with
  // pidfiles of their own do not take each other's control socket for a running server.
  std::filesystem::path path = pidfile.empty() ? std::filesystem::path(launchDir) / "cppd.pid"
                                               : std::filesystem::path(pidfile);
  return path.replace_extension(".ctl").string();
}

std::optional<mode_t> ServerOptions::effectiveUmask() const {
  if (umask) return umask;
  if (nodaemon) return std::nullopt;
  return static_cast<mode_t>(0077);
}

namespace {

// The options from args and preset, each checked on its own; parseServerOptions adds the checks between them and
// the lookup of the user and group.
ServerOptions readServerOptions(const std::vector<std::string>& args, std::map<std::string, OptionValue> preset) {
  ServerOptions o;
  std::error_code ec;
  o.launchDir = std::filesystem::current_path(ec).string();
  if (ec) throw systemError("getcwd", ".", ec.value());
  const RunnerWords runner = runnerWords(args);
  if (auto path = preset.extract("plugin-path")) o.pluginPath.push_back(absolute(o.launchDir, path.mapped().text));
  std::vector<std::pair<std::string, std::string>> given;  // --plugin-path repeats: every value, in order
  apply(parseOptionWords("", runnerOptionSpecs(), runner.words, o.launchDir, std::move(preset), &given), o);
  for (const auto& [name, dir] : given) {
    if (name == "plugin-path") o.pluginPath.push_back(absolute(o.launchDir, dir));
  }
  if (runner.next < args.size()) {
    if (args[runner.next].empty()) {
      throw UsageError("the command (plugin name) is empty; 'cppd --help' lists the commands");
    }
    o.command = args[runner.next];
    o.commandArgs.assign(args.begin() + static_cast<std::ptrdiff_t>(runner.next) + 1, args.end());
  }
  return o;
}

}  // namespace

ServerOptions parseServerOptions(const std::vector<std::string>& args, std::map<std::string, OptionValue> preset,
                                 AccountLookup lookup) {
  ServerOptions o = readServerOptions(args, std::move(preset));
  if (!o.nodaemon && !o.syslog && o.logfile == "-" && !o.help && !o.version && !o.listPlugins) {
    throw UsageError("Daemons cannot log to stdout: use --nodaemon, --syslog or a --logfile path");
  }
  if (!o.workers) {
    const char* needsWorkers = o.reusePort ? "reuseport"
                               : o.maxRequests != 0 ? "max-requests"
                               : o.maxRequestsJitter != 0 ? "max-requests-jitter" : nullptr;
    if (needsWorkers) {
      throw UsageError(fmt::format("option --{} needs --workers N (it is about worker processes)", needsWorkers));
    }
  }
  if (lookup == AccountLookup::now) resolveAccounts(o);
  return o;
}

ServerOptions parseServerOptions(const std::vector<std::string>& args) { return parseServerOptions(args, {}); }

ServerOptions parseServerOptions(const std::vector<std::string>& args, std::map<std::string, OptionValue> preset) {
  return parseServerOptions(args, std::move(preset), AccountLookup::now);
}

void checkServerOption(const std::string& name, const OptionValue& value) {
  (void)readServerOptions({}, {{name, value}});
}

bool isCommandLineAction(const std::string& name) {
  return name == "help" || name == "version" || name == "list-plugins" || name == "config" || name == "check";
}

ServerOptions parseServerOptions(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return parseServerOptions(args);
}

std::string serverOptionsUsage() {
  std::string out = "Options:\n";
  for (const auto& spec : runnerOptionSpecs()) {
    std::string head = spec.shortName.empty() ? fmt::format("      --{}", spec.longName)
                                              : fmt::format("  -{}, --{}", spec.shortName, spec.longName);
    if (spec.kind != OptionKind::flag) head += '=';
    std::string line = fmt::format("{:<26}{}", head, spec.help);
    if (head.size() >= 26) line = fmt::format("{} {}", head, spec.help);
    if (!spec.defaultValue.empty()) line += fmt::format(" [default: {}]", spec.defaultValue);
    out += line + '\n';
  }
  return out;
}

}  // namespace cppd::runner
