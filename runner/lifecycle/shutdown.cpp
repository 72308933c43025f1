#include "lifecycle/shutdown.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <typeinfo>

#include <fmt/core.h>

#include <cppd/application.hpp>
#include <cppd/log.hpp>
#include <cppd/multi_service.hpp>

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
    finished_ = true;
    timer_.cancel();
    if (failure) log::error("Stopping services failed: {}", *failure);
    reactor_.stop();
  });
}

void Shutdown::force(const std::string& why) {
  if (finished_) return;
  finished_ = true;
  forced_ = true;
  timer_.cancel();
  std::string names;
  for (const auto& name : pending()) names += (names.empty() ? "" : ", ") + name;
  log::error("Shutdown forced ({}); services not stopped: {}", why, names.empty() ? "none" : names);
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
