#include "control/control_commands.hpp"

#include <charconv>
#include <exception>
#include <functional>
#include <map>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

#include "control/json_writer.hpp"
#include "workers/worker_count.hpp"

namespace cppd::runner {
namespace {

void optionalCount(JsonWriter& w, std::string_view name, const std::optional<std::uint64_t>& count) {
  w.key(name);
  if (count) w.value(*count);
  else w.null();
}

void writeWorkers(JsonWriter& w, const std::vector<WorkerFacts>& workers) {
  w.key("workers").beginArray();
  for (const auto& worker : workers) {
    w.beginObject().key("id").value(std::uint64_t{worker.id}).key("pid").value(std::int64_t{worker.pid});
    w.key("start_time").value(worker.startTime);
    optionalCount(w, "accepted", worker.accepted);
    optionalCount(w, "active", worker.active);
    w.key("restarts").value(worker.restarts).endObject();
  }
  w.endArray();
}

void writeServices(JsonWriter& w, const std::vector<ServiceFacts>& services) {
  w.key("services").beginArray();
  for (const auto& service : services) {
    w.beginObject().key("name").value(service.name).key("plugin").value(service.plugin);
    w.key("endpoints").beginArray();
    for (const auto& endpoint : service.endpoints) w.value(endpoint);
    w.endArray();
    optionalCount(w, "accepted", service.accepted);
    optionalCount(w, "active", service.active);
    optionalCount(w, "bytes_sent", service.bytesSent);
    optionalCount(w, "errors", service.errors);
    w.endObject();
  }
  w.endArray();
}

void writeStatus(JsonWriter& w, IControlledDaemon& daemon) {
  const DaemonFacts facts = daemon.status();
  w.key("pid").value(std::int64_t{facts.pid}).key("version").value(facts.version);
  w.key("start_time").value(facts.startTime).key("uptime").value(facts.uptime);
  w.key("log_file").value(facts.logFile).key("pidfile").value(facts.pidFile);
  w.key("control_socket").value(facts.controlSocket).key("generation").value(facts.generation);
  w.key("reloads").value(facts.reloads).key("failed_reloads").value(facts.failedReloads);
  w.key("reloading").value(facts.reloading).key("last_reload").value(facts.lastReload);
  writeWorkers(w, facts.workers);
  writeServices(w, daemon.services());
}

void writePlugins(JsonWriter& w, IControlledDaemon& daemon) {
  w.key("plugins").beginArray();
  for (const auto& plugin : daemon.plugins()) {
    w.beginObject().key("name").value(plugin.name).key("file").value(plugin.file);
    w.key("description").value(plugin.description).key("version").value(plugin.version);
    w.key("abi").value(plugin.abi).endObject();
  }
  w.endArray();
}

void writeListeners(JsonWriter& w, IControlledDaemon& daemon) {
  w.key("listeners").beginArray();
  for (const auto& listener : daemon.listeners()) {
    w.beginObject().key("service").value(listener.service).key("endpoint").value(listener.endpoint);
    w.key("address").value(listener.address);
    optionalCount(w, "connections", listener.connections);
    w.endObject();
  }
  w.endArray();
}

using Args = std::vector<std::string>;
using Command = std::function<AfterReply(JsonWriter&, IControlledDaemon&, const Args&)>;

void noArguments(std::string_view command, const Args& args) {
  if (!args.empty()) throw Error(ErrorKind::usage, fmt::format("{} takes no arguments", command));
}

// A command that only reports: writes its result and asks nothing more.
Command report(std::string_view name, void (*write)(JsonWriter&, IControlledDaemon&)) {
  return [name, write](JsonWriter& w, IControlledDaemon& d, const Args& args) {
    noArguments(name, args);
    write(w, d);
    return AfterReply::nothing;
  };
}

void writeServiceList(JsonWriter& w, IControlledDaemon& daemon) { writeServices(w, daemon.services()); }

std::string shownArgument(const std::string& text) {
  std::string out;
  appendEscapedLogText(text.substr(0, 64), out);
  return out;
}

// A whole number in [1, limit], as an argument of command: "workers add 2".
unsigned count(std::string_view command, const std::string& text, unsigned limit) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 1 || value > limit) {
    throw Error(ErrorKind::usage, fmt::format("{}: '{}' is not a whole number from 1 to {}", command,
                                              shownArgument(text), limit));
  }
  return value;
}

AfterReply workers(JsonWriter& w, IControlledDaemon& d, const Args& args) {
  constexpr const char* usage = "workers add|remove [N]";
  if (args.empty() || args.size() > 2 || (args[0] != "add" && args[0] != "remove")) {
    throw Error(ErrorKind::usage, fmt::format("usage: {}", usage));
  }
  const unsigned n = args.size() == 2 ? count(usage, args[1], kMaxWorkers) : 1;
  const int delta = args[0] == "add" ? static_cast<int>(n) : -static_cast<int>(n);
  const std::size_t before = d.status().workers.size();
  w.key("workers").value(std::uint64_t{d.changeWorkers(delta)}).key("running_before").value(before);
  return AfterReply::nothing;
}

AfterReply worker(JsonWriter& w, IControlledDaemon& d, const Args& args) {
  constexpr const char* usage = "worker kill ID";
  if (args.size() != 2 || args[0] != "kill") throw Error(ErrorKind::usage, fmt::format("usage: {}", usage));
  const unsigned id = count(usage, args[1], kMaxWorkers);
  const pid_t pid = d.replaceWorker(id);
  w.key("id").value(std::uint64_t{id}).key("pid").value(std::int64_t{pid}).key("replaced").value(true);
  return AfterReply::nothing;
}

const std::map<std::string, Command, std::less<>>& commands() {
  static const std::map<std::string, Command, std::less<>> table{
      {"status", report("status", writeStatus)},
      {"services", report("services", writeServiceList)},
      {"plugins", report("plugins", writePlugins)},
      {"listeners", report("listeners", writeListeners)},
      {"reopen", [](JsonWriter& w, IControlledDaemon& d, const Args& args) {
         noArguments("reopen", args);
         d.reopen();
         w.key("reopened").value(true);
         return AfterReply::nothing;
       }},
      {"stop", [](JsonWriter& w, IControlledDaemon& d, const Args& args) {
         noArguments("stop", args);
         w.key("pid").value(std::int64_t{d.status().pid}).key("stopping").value(true);
         return AfterReply::stop;
       }},
      {"reload", [](JsonWriter& w, IControlledDaemon& d, const Args& args) {
         const bool check = args.size() == 1 && args[0] == "--check";
         if (!args.empty() && !check) throw Error(ErrorKind::usage, "usage: reload [--check]");
         const DaemonFacts before = d.status();
         w.key("check").value(check).key("outcome").value(d.reload(check));
         w.key("generation").value(before.generation).key("reloads").value(before.reloads);
         w.key("failed_reloads").value(before.failedReloads);
         return AfterReply::nothing;
       }},
      {"workers", workers},
      {"worker", worker},
  };
  return table;
}

}  // namespace

std::string errorReply(std::string_view error, std::string_view command) {
  JsonWriter w;
  w.beginObject().key("ok").value(false);
  if (!command.empty()) w.key("command").value(command);
  w.key("error").value(error).endObject();
  return w.str();
}

ControlAnswer answerRequest(const ControlRequest& request, IControlledDaemon& daemon) {
  ControlAnswer answer;
  const auto found = commands().find(request.command);
  if (found == commands().end()) {
    answer.line = errorReply(fmt::format("unknown command (known: listeners, plugins, reload, reopen, services, "
                                         "status, stop, worker, workers)"), request.command);
    return answer;
  }
  try {
    JsonWriter w;
    w.beginObject().key("ok").value(true).key("command").value(request.command).key("result").beginObject();
    answer.after = found->second(w, daemon, request.args);
    w.endObject().endObject();
    answer.line = w.str();
  } catch (const std::exception& e) {
    answer = ControlAnswer{errorReply(e.what(), request.command), AfterReply::nothing};
  }
  return answer;
}

}  // namespace cppd::runner
