#include <cppd/service.hpp>

#include <stdexcept>
#include <utility>

#include <cppd/service_collection.hpp>

namespace cppd {

IService::~IService() = default;
IServiceCollection::~IServiceCollection() = default;

Service::Service() = default;
Service::Service(std::string name) : name_(std::move(name)) {}
Service::~Service() = default;

const std::string& Service::name() const { return name_; }

bool Service::running() const { return running_; }

IServiceCollection* Service::parent() const { return parent_; }

void Service::setName(std::string name) {
  if (parent_ != nullptr) throw std::logic_error("cannot change name when parent exists");
  name_ = std::move(name);
}

void Service::setServiceParent(IServiceCollection& parent) {
  if (parent_ != nullptr) disownServiceParent();
  auto self = weak_from_this().lock();
  if (!self) {
    throw std::logic_error("setServiceParent: service '" + name_ + "' must be owned by a std::shared_ptr");
  }
  // The collection records the link; if it refuses the child (duplicate name) the link is never set.
  parent.addService(std::move(self));
}

Completion Service::disownServiceParent() {
  if (parent_ == nullptr) throw std::logic_error("disownServiceParent: service '" + name_ + "' has no parent");
  return parent_->removeService(*this);
}

void Service::privilegedStartService() {}

void Service::startService() { running_ = true; }

Completion Service::stopService() {
  running_ = false;
  return Completion::done();
}

void Service::setParentLink(IServiceCollection* parent) { parent_ = parent; }

}  // namespace cppd
