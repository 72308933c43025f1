#include "ftp_factory.hpp"

#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>

#include "ftp_metrics.hpp"
#include "ftp_session.hpp"

namespace ftp {
namespace {

// Tells a client over a limit to come back later, and hangs up.
class TooManyClients final : public cppd::Protocol {
 public:
  explicit TooManyClients(const char* reply = "421 Too many connections; try again later.\r\n") : reply_(reply) {}
  void connectionMade() override {
    transport().write(reply_);
    transport().loseConnection();
  }

 private:
  const char* reply_;
};

}  // namespace

FtpFactory::FtpFactory(std::shared_ptr<const FtpConfig> config, cppd::Reactor& reactor)
    : config_(std::move(config)),
      reactor_(reactor),
      counts_(std::make_shared<Counts>()),
      guard_(std::make_shared<LoginGuard>(config_->maxLoginFailures, config_->loginBlockTime)),
      refusals_(reactor) {
  FtpMetrics::get();  // registered now: a registration error fails the start, not a session
}

std::shared_ptr<cppd::Protocol> FtpFactory::buildProtocol(const cppd::Address& addr) {
  if (config_->maxClients != 0 && counts_->sessions >= config_->maxClients) {
    refusals_.refused("too many clients (--max-clients)",
                      fmt::format("refusing {}: {} clients already connected (--max-clients)", addr.toString(),
                                  counts_->sessions));
    return std::make_shared<TooManyClients>();
  }
  const std::string host = addr.host();
  if (!guard_->allowed(host)) {
    refusals_.refused("an address refused after failed logins (--max-login-failures)",
                      fmt::format("refusing {}: too many failed logins from {} (--max-login-failures)",
                                  addr.toString(), host));
    return std::make_shared<TooManyClients>("421 Too many failed logins from your address; try again later.\r\n");
  }
  std::size_t& fromHost = counts_->perAddress[host];
  if (config_->maxClientsPerAddress != 0 && fromHost >= config_->maxClientsPerAddress) {
    refusals_.refused("too many connections from one address (--max-clients-per-address)",
                      fmt::format("refusing {}: {} connections from {} already (--max-clients-per-address)",
                                  addr.toString(), fromHost, host));
    return std::make_shared<TooManyClients>();
  }
  ++counts_->sessions;
  ++fromHost;
  auto onClosed = [counts = counts_, host] {
    --counts->sessions;
    const auto found = counts->perAddress.find(host);
    if (found != counts->perAddress.end() && --found->second == 0) counts->perAddress.erase(found);
  };
  return std::make_shared<FtpSession>(config_, reactor_, std::move(onClosed), guard_);
}

}  // namespace ftp
