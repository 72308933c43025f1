#include "lifecycle/shutdown.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <typeinfo>
#include <utility>

#include <fmt/core.h>

#include <cppd/application.hpp>
#include <cppd/log.hpp>
#include <cppd/multi_service.hpp>
#include <cppd/stream_server_service.hpp>

namespace cppd::runner {

std::string serviceLabel(const IService& service) {
  if (!service.name().empty()) return service.name();
  int status = 0;
  const char* mangled = typeid(service).name();
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string label = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  return label;
}

Shutdown::Shutdown(Reactor& reactor, std::shared_ptr<IService> root, std::chrono::milliseconds timeout)
    : reactor_(reactor), root_(std::move(root)), timeout_(timeout) {}

Completion Shutdown::stopTree(IService& service, const std::string& path) {
  // Only a plain MultiService (or Application) is walked: its own stopService does exactly this (clear the
  // flag, stop every child at once in reverse order, join), so doing it here loses nothing and lets us see
  // which child is late. A subclass may add behaviour to stopService, so it is asked as a whole.
  auto* multi = dynamic_cast<MultiService*>(&service);
  const bool plain = multi && (typeid(service) == typeid(MultiService) || typeid(service) == typeid(Application));
  if (!plain) {
    Completion done;
    try {
      done = service.stopService();
    } catch (const std::exception& e) {
      log::error("stopService of {} threw: {}", path, e.what());
      done = Completion::failed(e.what());
    } catch (...) {
      log::error("stopService of {} threw an exception not derived from std::exception", path);
      done = Completion::failed("stopService threw");
    }
    tracked_.emplace_back(path, done);
    return done;
  }
  multi->Service::stopService();  // the flag only; the children are stopped below
  std::vector<Completion> parts;
  const auto children = multi->services();
  for (auto it = children.rbegin(); it != children.rend(); ++it) {
    parts.push_back(stopTree(**it, fmt::format("{}/{}", path, serviceLabel(**it))));
  }
  return Completion::all(parts);
}

void Shutdown::begin() {
  if (started_) return;
  started_ = true;
  const Completion all = stopTree(*root_, serviceLabel(*root_));
  if (timeout_.count() > 0 && !all.fired()) {
    timer_ = reactor_.callLater(timeout_, [this, alive = std::weak_ptr<bool>(alive_)] {
      if (alive.expired()) return;
      force(fmt::format("the shutdown timeout of {:g}s expired", static_cast<double>(timeout_.count()) / 1000));
    });
  }
  all.whenDone([this, alive = std::weak_ptr<bool>(alive_)](const std::optional<std::string>& failure) {
    if (alive.expired() || finished_) return;
    if (failure) log::error("Stopping services failed: {}", *failure);
    finish();
  });
}

void Shutdown::force(const std::string& why) {
  if (finished_ || forced_) return;
  forced_ = true;
  timer_.cancel();
  std::string names;
  for (const auto& name : pending()) names += (names.empty() ? "" : ", ") + name;
  log::error("Shutdown forced ({}); services not stopped: {}", why, names.empty() ? "none" : names);
  // The last words (an ftp 421) need the loop to leave; the stop's completion ends the wait early once every
  // connection has closed. Never unbounded: the timer ends it, and the backstop is behind that.
  if (!started_ || announceDeadline(*root_) == 0) return finish();
  timer_ = reactor_.callLater(kDeadlineGrace, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (!alive.expired()) finish();
  });
}

// Walks the whole tree, whatever stopService a MultiService subclass has: a plugin's service (web's, poetry's)
// holds its StreamServerServices as children. Returns how many connections were still open.
std::size_t Shutdown::announceDeadline(IService& service) {
  std::size_t open = 0;
  if (auto* server = dynamic_cast<StreamServerService*>(&service)) {
    open = server->connectionCount();
    if (open != 0) server->stopDeadline();
  }
  if (auto* multi = dynamic_cast<MultiService*>(&service)) {
    for (const auto& child : multi->services()) open += announceDeadline(*child);
  }
  return open;
}

void Shutdown::finish() {
  if (std::exchange(finished_, true)) return;
  timer_.cancel();
  reactor_.stop();
}

std::vector<std::string> Shutdown::pending() const {
  std::vector<std::string> names;
  for (const auto& [name, done] : tracked_) {
    if (!done.fired()) names.push_back(name);
  }
  return names;
}

}  // namespace cppd::runner
