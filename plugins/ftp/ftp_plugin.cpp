// The ftp plugin: `cppd ftp --port 2121 --root DIR [--password-file FILE] [--no-anonymous]`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <cppd/endpoint.hpp>
#include <cppd/plugin.hpp>
#include <cppd/reactor.hpp>
#include <cppd/stream_server_service.hpp>

#include "ftp_config.hpp"
#include "ftp_factory.hpp"
#include "jail.hpp"

namespace ftp {
namespace {

// "50000-50100" as a port range; throws cppd::UsageError naming the value.
void parsePassivePorts(const std::string& text, FtpConfig& config) {
  const std::size_t dash = text.find('-');
  auto number = [&text](const std::string& part) -> unsigned long {
    if (part.empty() || part.size() > 5 || part.find_first_not_of("0123456789") != std::string::npos) return 0;
    return std::stoul(part);
  };
  const unsigned long low = dash == std::string::npos ? 0 : number(text.substr(0, dash));
  const unsigned long high = dash == std::string::npos ? 0 : number(text.substr(dash + 1));
  if (low < 1024 || high > 65535 || low > high) {
    throw cppd::UsageError(fmt::format(
        "--passive-ports '{}': expected a range LOW-HIGH of ports between 1024 and 65535, e.g. 50000-50100", text));
  }
  config.passiveLow = static_cast<std::uint16_t>(low);
  config.passiveHigh = static_cast<std::uint16_t>(high);
}

// A seconds option, at most a day.
std::chrono::milliseconds duration(const cppd::Options& options, const std::string& name) {
  const auto value = options.get<std::chrono::milliseconds>(name);
  if (value > std::chrono::hours(24)) {
    throw cppd::UsageError(fmt::format("--{} {}: expected seconds between 0 and 86400", name, options.text(name)));
  }
  return value;
}

}  // namespace

class FtpMaker final : public cppd::IServiceMaker {
 public:
  std::string tapname() const override { return "ftp"; }

  std::string description() const override { return "An FTP server (RFC 959, 2428, 3659) serving one directory."; }

  bool servesFiles() const override { return true; }  // to anonymous clients by default

  std::vector<cppd::OptionSpec> options() const override {
    using cppd::OptionKind;
    return {
        {.longName = "port", .shortName = "p", .help = "The endpoint to listen on, or a bare port number.",
         .defaultValue = "2121", .kind = OptionKind::endpoint},
        {.longName = "root", .shortName = "r", .help = "The directory to serve; clients never see anything outside it.",
         .kind = OptionKind::path, .required = true},
        {.longName = "password-file",
         .help = "Users allowed to log in, one 'user:crypt-hash' per line (openssl passwd -6).",
         .kind = OptionKind::path},
        {.longName = "anonymous", .help = "Allow anonymous read-only logins (--no-anonymous refuses them).",
         .defaultValue = "true", .kind = OptionKind::flag},
        {.longName = "passive-ports",
         .help = "The range of ports for passive data connections, e.g. 50000-50100 (default: any)."},
        {.longName = "max-clients", .help = "The most control connections at once; 0 for no limit.",
         .defaultValue = "256", .kind = OptionKind::count},
        {.longName = "idle-timeout", .help = "Seconds a session may stay idle before it is closed; 0 for never.",
         .defaultValue = "300", .kind = OptionKind::seconds},
        {.longName = "max-clients-per-address",
         .help = "The most control connections from one client address; 0 for no limit.", .defaultValue = "10",
         .kind = OptionKind::count},
        {.longName = "login-timeout",
         .help = "Seconds from connecting to a successful login before the session is closed; 0 for never.",
         .defaultValue = "60", .kind = OptionKind::seconds},
        {.longName = "data-timeout",
         .help = "Seconds a data connection may make no progress before the transfer is aborted (426); 0 for never.",
         .defaultValue = "60", .kind = OptionKind::seconds},
        {.longName = "login-fail-delay", .help = "Seconds to wait before answering a wrong password.",
         .defaultValue = "1", .kind = OptionKind::seconds},
        {.longName = "max-login-failures",
         .help = "Failed logins from one address after which it is refused for --login-block-time; 0 for no limit.",
         .defaultValue = "10", .kind = OptionKind::count},
        {.longName = "login-block-time", .help = "Seconds an address is refused after --max-login-failures failed logins.",
         .defaultValue = "300", .kind = OptionKind::seconds},
    };
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    auto config = std::make_shared<FtpConfig>();
    config->jail = openServedRoot(options.get<std::string>("root"));
    if (auto passwords = options.get<std::optional<std::string>>("password-file")) {
      config->users = PasswordFile::load(*passwords);
    }
    config->anonymous = options.get<bool>("anonymous");
    if (auto ports = options.get<std::optional<std::string>>("passive-ports"); ports && !ports->empty()) {
      parsePassivePorts(*ports, *config);
    }
    config->maxClients = options.get<std::size_t>("max-clients");
    config->maxClientsPerAddress = options.get<std::size_t>("max-clients-per-address");
    config->maxLoginFailures = static_cast<unsigned>(std::min<std::size_t>(options.get<std::size_t>("max-login-failures"), 1000000));
    config->idleTimeout = duration(options, "idle-timeout");
    config->loginTimeout = duration(options, "login-timeout");
    config->dataTimeout = duration(options, "data-timeout");
    config->loginFailDelay = duration(options, "login-fail-delay");
    config->loginBlockTime = duration(options, "login-block-time");
    auto factory = std::make_shared<FtpFactory>(config, cppd::globalReactor());
    return std::make_shared<cppd::StreamServerService>(options.get<cppd::Endpoint>("port"), factory);
  }
};

}  // namespace ftp

CPPD_PLUGIN(ftp::FtpMaker)
