#pragma once

// A service that records what happens to it, for service-model tests.
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <cppd/service.hpp>

namespace cppd::test {

using Journal = std::vector<std::string>;

class RecordingService : public Service {
 public:
  RecordingService(std::string name, std::shared_ptr<Journal> journal) : Service(std::move(name)), journal_(std::move(journal)) {}

  void privilegedStartService() override {
    journal_->push_back("privileged " + name());
    if (failPrivileged) throw std::runtime_error("cannot bind " + name());
    Service::privilegedStartService();
  }
  void startService() override {
    journal_->push_back("start " + name());
    if (failStart) throw std::runtime_error("cannot start " + name());
    Service::startService();
  }
  Completion stopService() override {
    journal_->push_back("stop " + name());
    Service::stopService();
    if (holdStop) {
      pendingStop = Completion();
      return pendingStop;
    }
    return Completion::done();
  }

  bool failPrivileged = false;
  bool failStart = false;
  bool holdStop = false;
  Completion pendingStop;

 private:
  std::shared_ptr<Journal> journal_;
};

}  // namespace cppd::test
