#include "control/control_commands.hpp"

#include <exception>
#include <functional>
#include <map>

#include <fmt/core.h>

#include "control/json_writer.hpp"

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

using Command = std::function<AfterReply(JsonWriter&, IControlledDaemon&)>;

// A command that only reports: writes its result and asks nothing more.
Command report(void (*write)(JsonWriter&, IControlledDaemon&)) {
  return [write](JsonWriter& w, IControlledDaemon& d) {
    write(w, d);
    return AfterReply::nothing;
  };
}

void writeServiceList(JsonWriter& w, IControlledDaemon& daemon) { writeServices(w, daemon.services()); }

const std::map<std::string, Command, std::less<>>& commands() {
  static const std::map<std::string, Command, std::less<>> table{
      {"status", report(writeStatus)},
      {"services", report(writeServiceList)},
      {"plugins", report(writePlugins)},
      {"listeners", report(writeListeners)},
      {"reopen", [](JsonWriter& w, IControlledDaemon& d) {
         d.reopen();
         w.key("reopened").value(true);
         return AfterReply::nothing;
       }},
      {"stop", [](JsonWriter& w, IControlledDaemon& d) {
         w.key("pid").value(std::int64_t{d.status().pid}).key("stopping").value(true);
         return AfterReply::stop;
       }},
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
  if (request.command == "reload") {
    answer.line = errorReply("reload is not supported by this version", request.command);
    return answer;
  }
  const auto found = commands().find(request.command);
  if (found == commands().end()) {
    answer.line = errorReply(fmt::format("unknown command (known: listeners, plugins, reload, reopen, services, "
                                         "status, stop)"), request.command);
    return answer;
  }
  if (!request.args.empty()) {
    answer.line = errorReply(fmt::format("{} takes no arguments", request.command), request.command);
    return answer;
  }
  try {
    JsonWriter w;
    w.beginObject().key("ok").value(true).key("command").value(request.command).key("result").beginObject();
    answer.after = found->second(w, daemon);
    w.endObject().endObject();
    answer.line = w.str();
  } catch (const std::exception& e) {
    answer = ControlAnswer{errorReply(e.what(), request.command), AfterReply::nothing};
  }
  return answer;
}

}  // namespace cppd::runner
