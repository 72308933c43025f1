// An out-of-tree plugin: only the installed SDK headers and cppd_add_plugin() from find_package(cppd).

#include <cppd/log.hpp>
#include <cppd/plugin.hpp>

namespace {

class GreeterService final : public cppd::Service {
 public:
  explicit GreeterService(std::string who) : who_(std::move(who)) {}
  void startService() override {
    cppd::Service::startService();
    cppd::log::info("greetings, {}", who_);
  }

 private:
  std::string who_;
};

class GreeterMaker final : public cppd::IServiceMaker {
 public:
  std::string tapname() const override { return "greeter"; }
  std::string description() const override { return "Greets someone (built out of tree)."; }
  std::vector<cppd::OptionSpec> options() const override {
    return {{.longName = "who", .shortName = "w", .help = "Who to greet.", .defaultValue = "everyone"}};
  }
  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    return std::make_shared<GreeterService>(options.get<std::string>("who"));
  }
};

}  // namespace

CPPD_PLUGIN(GreeterMaker)
