#pragma once

#include <memory>
#include <string>
#include <vector>

#include <cppd/service.hpp>
#include <cppd/service_collection.hpp>

namespace cppd {

/// A service made of child services (Twisted's MultiService). Children start in insertion order and stop in
/// reverse order; the collection's stop fires when every child's stop has fired (failures are joined).
///
/// If a child's privilegedStartService() or startService() throws, the children already started are stopped
/// again (in reverse order) and the exception propagates, so a failed start leaves nothing running.
class CPPD_API MultiService : public Service, public IServiceCollection {
 public:
  MultiService();
  explicit MultiService(std::string name);
  ~MultiService() override;

  std::shared_ptr<IService> getServiceNamed(const std::string& name) const override;
  std::vector<std::shared_ptr<IService>> services() const override;
  void addService(std::shared_ptr<IService> service) override;
  Completion removeService(IService& service) override;

  void privilegedStartService() override;
  void startService() override;
  Completion stopService() override;

 private:
  std::vector<std::shared_ptr<IService>> children_;
};

}  // namespace cppd
