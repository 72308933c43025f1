#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include <cppd/factory.hpp>
#include <cppd/reactor.hpp>

#include "ftp_config.hpp"
#include "login_guard.hpp"
#include "refusal_log.hpp"

namespace ftp {

/// Builds an FtpSession per control connection. Beyond --max-clients open sessions, or
/// --max-clients-per-address from one address, a new client is told "421 Too many connections" and
/// disconnected; refusals are logged in aggregate (RefusalLog). Holds the LoginGuard every session shares.
/// Loop thread only.
class FtpFactory final : public cppd::Factory {
 public:
  FtpFactory(std::shared_ptr<const FtpConfig> config, cppd::Reactor& reactor);

  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address& addr) override;
  std::string logPrefix() const override { return "FtpFactory"; }

  std::size_t sessions() const noexcept { return counts_->sessions; }

 private:
  // Shared with the sessions, which may outlive the factory.
  struct Counts {
    std::size_t sessions = 0;
    std::map<std::string, std::size_t> perAddress;
  };

  std::shared_ptr<const FtpConfig> config_;
  cppd::Reactor& reactor_;
  std::shared_ptr<Counts> counts_;
  std::shared_ptr<LoginGuard> guard_;
  RefusalLog refusals_;
};

}  // namespace ftp
