// A well-behaved test plugin with one option of every kind, used by the plugin-system tests: it logs its
// options when it starts ("hello, NAME ...") and does nothing else.

#include <cppd/log.hpp>
#include <cppd/plugin.hpp>

namespace {

class HelloService final : public cppd::Service {
 public:
  explicit HelloService(const cppd::Options& options) : options_(options) {}

  void startService() override {
    cppd::Service::startService();
    cppd::log::info("hello, {} (count={}, port={}, root={}, mode={}, limit={}, delay={}, loud={}, greet={})",
                    options_.text("name"), options_.get<long long>("count"), options_.get<std::uint16_t>("port"),
                    options_.text("root"), options_.get<int>("mode"), options_.get<long long>("limit"),
                    options_.get<double>("delay"), options_.flag("loud"), options_.flag("greet"));
  }

 private:
  cppd::Options options_;
};

class HelloMaker final : public cppd::IServiceMaker {
 public:
  std::string tapname() const override { return "hello"; }
  std::string description() const override { return "Says hello (a test plugin with one option of each kind)."; }

  std::vector<cppd::OptionSpec> options() const override {
    using cppd::OptionKind;
    std::vector<cppd::OptionSpec> specs{
        {"name", "n", "Who to greet.", "world", OptionKind::string, false, {}},
        {"count", "c", "How many greetings.", "1", OptionKind::integer, false, {}},
        {"port", "p", "A port to mention.", "8080", OptionKind::port, false, {}},
        {"endpoint", "", "An endpoint to mention.", "", OptionKind::endpoint, false, {}},
        {"root", "", "A directory to mention.", "", OptionKind::path, true, {}},
        {"mode", "", "A file mode.", "0644", OptionKind::octal, false, {}},
        {"limit", "", "A size limit.", "1k", OptionKind::size, false, {}},
        {"delay", "", "A delay.", "0.5", OptionKind::seconds, false, {}},
        {"loud", "l", "Shout.", "", OptionKind::flag, false, {}},
        {"greet", "", "Greet at all.", "true", OptionKind::flag, false, {}},
    };
    specs[1].validator = [](const std::string& value) {
      if (std::stoll(value) < 0) throw cppd::UsageError("count must be >= 0, got " + value);
    };
    return specs;
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    return std::make_shared<HelloService>(options);
  }
};

}  // namespace

CPPD_PLUGIN(HelloMaker)
