#pragma once

// A minimal service maker for the misbehaving test plugins; each one breaks a different rule around it.

#include <cppd/plugin.hpp>

namespace cppd_test {

class NamedMaker : public cppd::IServiceMaker {
 public:
  explicit NamedMaker(std::string tapname) : tapname_(std::move(tapname)) {}
  std::string tapname() const override { return tapname_; }
  std::string description() const override { return "A test plugin named " + tapname_ + "."; }
  std::vector<cppd::OptionSpec> options() const override { return {}; }
  std::shared_ptr<cppd::IService> makeService(const cppd::Options&) override {
    return std::make_shared<cppd::Service>();
  }

 private:
  std::string tapname_;
};

}  // namespace cppd_test
