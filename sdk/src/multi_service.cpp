#include <cppd/multi_service.hpp>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>

#include "detail/service_access.hpp"

namespace cppd {
namespace {

std::string describe(const IService& service) {
  return service.name().empty() ? std::string("(anonymous service)") : fmt::format("'{}'", service.name());
}

}  // namespace

MultiService::MultiService() = default;
MultiService::MultiService(std::string name) : Service(std::move(name)) {}
MultiService::~MultiService() {
  // Children outlive the parent pointer they hold only if someone else owns them: clear the link.
  for (auto& child : children_) detail::ServiceAccess::setParentLink(*child, nullptr);
}

std::shared_ptr<IService> MultiService::getServiceNamed(const std::string& name) const {
  for (const auto& child : children_) {
    if (!name.empty() && child->name() == name) return child;
  }
  throw std::out_of_range(fmt::format("no service named '{}' in {}", name, describe(*this)));
}

std::vector<std::shared_ptr<IService>> MultiService::services() const { return children_; }

void MultiService::addService(std::shared_ptr<IService> service) {
  if (!service) throw std::invalid_argument("addService: null service");
  if (service.get() == static_cast<IService*>(this)) throw std::invalid_argument("addService: a service cannot contain itself");
  if (!service->name().empty()) {
    for (const auto& child : children_) {
      if (child->name() == service->name()) {
        throw std::logic_error(fmt::format("cannot have two services with same name '{}'", service->name()));
      }
    }
  }
  if (service->parent() == this) {
    throw std::logic_error(fmt::format("addService: {} is already a child of {}", describe(*service), describe(*this)));
  }
  if (service->parent() != nullptr) service->disownServiceParent();
  detail::ServiceAccess::setParentLink(*service, this);
  children_.push_back(service);
  if (!running()) return;
  // A collection that is already running starts a new child at once, as Twisted does.
  try {
    service->privilegedStartService();
    service->startService();
  } catch (...) {
    children_.pop_back();
    detail::ServiceAccess::setParentLink(*service, nullptr);
    throw;
  }
}

Completion MultiService::removeService(IService& service) {
  auto it = std::find_if(children_.begin(), children_.end(),
                         [&](const std::shared_ptr<IService>& child) { return child.get() == &service; });
  if (it == children_.end()) {
    throw std::invalid_argument(fmt::format("removeService: {} is not a child of {}", describe(service), describe(*this)));
  }
  auto child = *it;  // keeps the child alive while it stops
  children_.erase(it);
  detail::ServiceAccess::setParentLink(*child, nullptr);
  if (running() && child->running()) return child->stopService();
  return Completion::done();
}

void MultiService::privilegedStartService() {
  Service::privilegedStartService();
  for (auto& child : std::vector(children_)) child->privilegedStartService();
}

void MultiService::startService() {
  Service::startService();
  std::vector<std::shared_ptr<IService>> started;
  try {
    for (auto& child : std::vector(children_)) {
      child->startService();
      started.push_back(child);
    }
  } catch (...) {
    // Leave nothing half started: stop what did start, newest first, then report the original failure.
    for (auto it = started.rbegin(); it != started.rend(); ++it) {
      (*it)->stopService().whenDone([name = describe(**it)](const std::optional<std::string>& failure) {
        if (failure) log::error("stopping {} after a failed start: {}", name, *failure);
      });
    }
    Service::stopService();
    throw;
  }
}

Completion MultiService::stopService() {
  Service::stopService();
  // Every child is asked to stop at once, newest first; the collection's stop fires when all have.
  std::vector<Completion> stops;
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    if ((*it)->running()) stops.push_back((*it)->stopService());
  }
  return Completion::all(stops);
}

}  // namespace cppd
