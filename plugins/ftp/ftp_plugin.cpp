// The ftp plugin: `cppd ftp --port 2121 --root DIR [--password-file FILE] [--no-anonymous]`.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
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

// A count option (0 or more); throws cppd::UsageError naming the option and the value.
std::size_t count(const cppd::Options& options, const std::string& name, long long fallback) {
  const long long value = options.get<long long>(name, fallback);
  if (value < 0) throw cppd::UsageError(fmt::format("--{} {}: must be 0 or more", name, value));
  return static_cast<std::size_t>(value);
}

// A seconds option as milliseconds (0 or more, at most a day).
std::chrono::milliseconds duration(const cppd::Options& options, const std::string& name, double fallback) {
  const double seconds = options.get<double>(name, fallback);
  if (!(seconds >= 0 && seconds <= 86400)) {
    throw cppd::UsageError(fmt::format("--{} {}: expected seconds between 0 and 86400", name, seconds));
  }
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
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
        {"port", "p", "The endpoint to listen on, or a bare port number.", "2121", OptionKind::endpoint, false, nullptr},
        {"root", "r", "The directory to serve; clients never see anything outside it.", "", OptionKind::path, true,
         nullptr},
        {"password-file", "", "Users allowed to log in, one 'user:crypt-hash' per line (openssl passwd -6).", "",
         OptionKind::path, false, nullptr},
        {"anonymous", "", "Allow anonymous read-only logins (--no-anonymous refuses them).", "true", OptionKind::flag,
         false, nullptr},
        {"passive-ports", "", "The range of ports for passive data connections, e.g. 50000-50100 (default: any).", "",
         OptionKind::string, false, nullptr},
        {"max-clients", "", "The most control connections at once; 0 for no limit.", "256", OptionKind::integer, false,
         nullptr},
        {"idle-timeout", "", "Seconds a session may stay idle before it is closed; 0 for never.", "300",
         OptionKind::seconds, false, nullptr},
        {"max-clients-per-address", "", "The most control connections from one client address; 0 for no limit.",
         "10", OptionKind::integer, false, nullptr},
        {"login-timeout", "", "Seconds from connecting to a successful login before the session is closed; 0 for "
         "never.", "60", OptionKind::seconds, false, nullptr},
        {"data-timeout", "", "Seconds a data connection may make no progress before the transfer is aborted "
         "(426); 0 for never.", "60", OptionKind::seconds, false, nullptr},
        {"login-fail-delay", "", "Seconds to wait before answering a wrong password.", "1", OptionKind::seconds,
         false, nullptr},
        {"max-login-failures", "", "Failed logins from one address after which it is refused for "
         "--login-block-time; 0 for no limit.", "10", OptionKind::integer, false, nullptr},
        {"login-block-time", "", "Seconds an address is refused after --max-login-failures failed logins.", "300",
         OptionKind::seconds, false, nullptr},
    };
  }

  std::shared_ptr<cppd::IService> makeService(const cppd::Options& options) override {
    auto config = std::make_shared<FtpConfig>();
    config->jail = openServedRoot(options.text("root"));
    if (options.has("password-file") && !options.text("password-file").empty()) {
      config->users = PasswordFile::load(options.text("password-file"));
    }
    config->anonymous = options.flag("anonymous");
    if (options.has("passive-ports") && !options.text("passive-ports").empty()) {
      parsePassivePorts(options.text("passive-ports"), *config);
    }
    config->maxClients = count(options, "max-clients", 256);
    config->maxClientsPerAddress = count(options, "max-clients-per-address", 10);
    config->maxLoginFailures = static_cast<unsigned>(std::min<std::size_t>(count(options, "max-login-failures", 10), 1000000));
    config->idleTimeout = duration(options, "idle-timeout", 300);
    config->loginTimeout = duration(options, "login-timeout", 60);
    config->dataTimeout = duration(options, "data-timeout", 60);
    config->loginFailDelay = duration(options, "login-fail-delay", 1);
    config->loginBlockTime = duration(options, "login-block-time", 300);
    const cppd::Endpoint endpoint = cppd::Endpoint::parse(options.text("port"));
    auto factory = std::make_shared<FtpFactory>(config, cppd::globalReactor());
    return std::make_shared<cppd::StreamServerService>(endpoint, factory);
  }
};

}  // namespace ftp

CPPD_PLUGIN(ftp::FtpMaker)
