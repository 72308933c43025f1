// cppdctl: asks a running cppd over its control socket (runner/control/README.md) and shows the reply.
// Exit 0 when the command succeeded, 1 when the daemon refused or failed it, 69 when nothing answers, 64 for
// a bad command line, 75 when a stop's --timeout passed with the daemon still stopping.

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>

#include <cppd/version.hpp>

#include "control/json_value.hpp"
#include "control/json_writer.hpp"
#include "cppdctl/control_client.hpp"
#include "cppdctl/reload_wait.hpp"
#include "cppdctl/reply_printer.hpp"

namespace {

using cppd::ctl::ClientError;

constexpr const char* usage =
    "Usage: cppdctl [-s PATH] [--json] [--no-wait] [--timeout SECONDS] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  status      the daemon: PID, version, uptime, files, workers, services\n"
    "  services    the services, their endpoints and connections\n"
    "  plugins     the loaded plugins\n"
    "  listeners   the listening sockets\n"
    "  reopen      reopen the log file (as SIGHUP)\n"
    "  stop        stop the daemon (as SIGTERM) and wait until it has exited\n"
    "  workers add|remove [N]  run N more or fewer workers (--workers only)\n"
    "  worker kill ID          replace worker ID by a fresh one (--workers only)\n"
    "  reload [--check]        reload (as SIGUSR2; --workers only): the binary and configuration as they\n"
    "                          are now start a new generation of workers; waits for the outcome\n"
    "                          (--check: only check what a reload would start)\n"
    "\n"
    "Options:\n"
    "  -s, --socket PATH    the daemon's control socket [default: cppd.ctl]\n"
    "      --json           print the daemon's reply as it came (one JSON line)\n"
    "      --no-wait        stop, reload: return once the daemon has begun\n"
    "      --timeout SECS   how long to wait for a reply [default: 10; for a reload's outcome: 120; for a\n"
    "                       stop's exit: as long as the daemon's --shutdown-timeout lets it drain]\n"
    "  -h, --help           show this help\n"
    "      --version        show the version\n";

struct Invocation {
  std::string socket = "cppd.ctl";
  bool json = false;
  bool wait = true;
  double timeout = 10;
  bool timeoutGiven = false;
  std::vector<std::string> words;  // the command and its arguments
};

[[noreturn]] void usageError(const std::string& message) {
  std::fprintf(stderr, "cppdctl: %s\n%s", message.c_str(), usage);
  std::exit(64);
}

double seconds(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !(value > 0) || value > 86400) {
    usageError(fmt::format("--timeout: '{}' is not a number of seconds (more than 0, at most 86400)", text));
  }
  return value;
}

Invocation parse(int argc, char** argv) {
  Invocation inv;
  int i = 1;
  auto valueOf = [&](std::string_view arg, std::string_view name) -> std::string {
    if (arg.size() > name.size() && arg[name.size()] == '=') return std::string(arg.substr(name.size() + 1));
    if (i + 1 >= argc) usageError(fmt::format("option {} requires an argument", name));
    return argv[++i];
  };
  for (; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else if (arg == "--version") {
      std::printf("cppdctl %s\n", cppd::versionString().c_str());
      std::exit(0);
    } else if (arg == "--json") {
      inv.json = true;
    } else if (arg == "--no-wait") {
      inv.wait = false;
    } else if (arg == "-s" || arg.starts_with("--socket")) {
      inv.socket = valueOf(arg, arg == "-s" ? "-s" : "--socket");
    } else if (arg.starts_with("-s")) {
      inv.socket = std::string(arg.substr(2));
    } else if (arg.starts_with("--timeout")) {
      inv.timeout = seconds(valueOf(arg, "--timeout"));
      inv.timeoutGiven = true;
    } else if (arg == "--") {
      ++i;
      break;
    } else if (arg.starts_with("-") && arg.size() > 1) {
      usageError(fmt::format("unknown option '{}'", arg));
    } else {
      break;
    }
  }
  for (; i < argc; ++i) inv.words.emplace_back(argv[i]);
  if (inv.words.empty()) usageError("no command given");
  if (inv.socket.empty()) usageError("-s: the control socket path is empty");
  return inv;
}

std::string requestLine(const Invocation& inv) {
  cppd::runner::JsonWriter w;
  w.beginObject().key("command").value(inv.words.front());
  if (inv.words.size() > 1) {
    w.key("args").beginArray();
    for (std::size_t k = 1; k < inv.words.size(); ++k) w.value(inv.words[k]);
    w.endArray();
  }
  w.endObject();
  return w.str();
}

std::string text(const cppd::runner::JsonValue& result, std::string_view name) {
  const auto* value = result.member(name);
  return value && value->string() ? *value->string() : std::string();
}

std::uint64_t number(const cppd::runner::JsonValue& result, std::string_view name) {
  const auto* value = result.member(name);
  return value && value->number() ? std::strtoull(value->number()->text.c_str(), nullptr, 10) : 0;
}

// reload: the daemon has started it (or queued it); wait for its outcome unless --no-wait. reload --check: the
// check's own words.
int finishReload(const Invocation& inv, const cppd::runner::JsonValue& result) {
  const auto* check = result.member("check");
  if (check && check->boolean() && *check->boolean()) {
    if (!inv.json) std::printf("%s", text(result, "outcome").c_str());
    return 0;
  }
  if (!inv.wait) {
    if (!inv.json) std::printf("reload %s\n", text(result, "outcome").c_str());
    return 0;
  }
  const cppd::ctl::ReloadCounts before{number(result, "reloads"), number(result, "failed_reloads")};
  const auto wait = std::chrono::milliseconds(static_cast<long long>((inv.timeoutGiven ? inv.timeout : 120) * 1000));
  const cppd::ctl::ReloadOutcome outcome = cppd::ctl::waitForReload(inv.socket, before, wait);
  if (!outcome.ok) {
    std::fprintf(stderr, "cppdctl: reload: %s\n", outcome.text.c_str());
    return 1;
  }
  if (!inv.json) std::printf("%s\n", outcome.text.c_str());
  return 0;
}

// Shows the reply and returns the exit code; for a stop, waits for the daemon's exit first.
int finish(const Invocation& inv, cppd::ctl::ControlClient& client, const std::string& line) {
  const auto parsed = cppd::runner::parseJson(line);
  const cppd::runner::JsonValue* ok = parsed.value ? parsed.value->member("ok") : nullptr;
  if (ok == nullptr || ok->boolean() == nullptr) {
    throw ClientError(69, "the reply is not a cppd control reply: " + (parsed.value ? line.substr(0, 200)
                                                                                    : parsed.error));
  }
  if (inv.json) std::printf("%s\n", line.c_str());
  if (!*ok->boolean()) {
    const auto* error = parsed.value->member("error");
    std::fprintf(stderr, "cppdctl: %s: %s\n", inv.words.front().c_str(),
                 error && error->string() ? error->string()->c_str() : "refused");
    return 1;
  }
  const cppd::runner::JsonValue* result = parsed.value->member("result");
  const bool stopping = inv.words.front() == "stop";
  if (inv.words.front() == "reload" && result) return finishReload(inv, *result);
  if (!inv.json && result && !stopping) std::fputs(cppd::ctl::formatResult(*result).c_str(), stdout);
  if (stopping) {
    const auto* pid = result ? result->member("pid") : nullptr;
    const long long number = pid && pid->number() ? std::atoll(pid->number()->text.c_str()) : 0;
    if (inv.wait) {
      // Without --timeout the daemon's own --shutdown-timeout bounds the wait (it forces its exit then).
      std::optional<std::chrono::steady_clock::time_point> deadline;
      if (inv.timeoutGiven) {
        deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::llround(inv.timeout * 1000));
      }
      if (!client.waitForClose(deadline) || !cppd::ctl::waitForExit(static_cast<pid_t>(number), deadline)) {
        std::fprintf(stderr,
                     "cppdctl: stop: cppd (PID %lld) is still stopping after --timeout %g s (it drains its "
                     "connections for up to its --shutdown-timeout, then forces its exit); check with kill -0 %lld\n",
                     number, inv.timeout, number);
        return 75;
      }
    }
    if (!inv.json) std::printf("cppd (PID %lld) %s\n", number, inv.wait ? "stopped" : "is stopping");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Invocation inv = parse(argc, argv);
  try {
    const auto timeout = std::chrono::milliseconds(static_cast<long long>(inv.timeout * 1000));
    cppd::ctl::ControlClient client(inv.socket, timeout);
    const std::string reply = client.request(requestLine(inv));
    return finish(inv, client, reply);
  } catch (const ClientError& e) {
    std::fprintf(stderr, "cppdctl: %s\n", e.what());
    return e.exitCode();
  }
}
