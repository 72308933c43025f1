#pragma once

#include <memory>
#include <string>
#include <vector>

#include <cppd/completion.hpp>
#include <cppd/export.hpp>

namespace cppd {

class IService;

/// A collection of services (Twisted's IServiceCollection). Thread affinity: loop/main thread.
class CPPD_API IServiceCollection {
 public:
  virtual ~IServiceCollection();

  /// The child named name. Throws std::out_of_range("no service named 'x' in 'parent'") when absent.
  virtual std::shared_ptr<IService> getServiceNamed(const std::string& name) const = 0;

  /// The children in insertion order.
  virtual std::vector<std::shared_ptr<IService>> services() const = 0;

  /// Adds a child. A named child whose name is taken is refused with
  /// std::logic_error("cannot have two services with same name 'x'"). If the collection is running, the child
  /// gets privilegedStartService() and startService() at once.
  virtual void addService(std::shared_ptr<IService> service) = 0;

  /// Removes a child, stopping it if the collection is running; returns that stop (or an already-fired
  /// completion). Throws std::invalid_argument if service is not a child.
  virtual Completion removeService(IService& service) = 0;
};

}  // namespace cppd
