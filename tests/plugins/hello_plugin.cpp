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
                    options_.get<double>("delay"), options_.get<bool>("loud"), options_.get<bool>("greet"));
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
        {.longName = "name", .shortName = "n", .help = "Who to greet.", .defaultValue = "world"},
        {.longName = "count", .shortName = "c", .help = "How many greetings.", .defaultValue = "1",
         .kind = OptionKind::integer, .validator = [](const std::string& value) {
           if (std::stoll(value) < 0) throw cppd::UsageError("count must be >= 0, got " + value);
         }},
        {.longName = "port", .shortName = "p", .help = "A port to mention.", .defaultValue = "8080",
         .kind = OptionKind::port},
        {.longName = "endpoint", .help = "An endpoint to mention.", .kind = OptionKind::endpoint},
        {.longName = "root", .help = "A directory to mention.", .kind = OptionKind::path, .required = true},
        {.longName = "mode", .help = "A file mode.", .defaultValue = "0644", .kind = OptionKind::octal},
        {.longName = "limit", .help = "A size limit.", .defaultValue = "1k", .kind = OptionKind::size},
        {.longName = "delay", .help = "A delay.", .defaultValue = "0.5", .kind = OptionKind::seconds},
        {.longName = "loud", .shortName = "l", .help = "Shout.", .kind = OptionKind::flag},
        {.longName = "greet", .help = "Greet at all.", .defaultValue = "true", .kind = OptionKind::flag},
    };
    return specs;
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    return std::make_shared<HelloService>(options);
  }
};

}  // namespace

CPPD_PLUGIN(HelloMaker)
