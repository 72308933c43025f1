#pragma once

#include <cstddef>
#include <memory>

#include <cppd/factory.hpp>
#include <cppd/reactor.hpp>

#include "ftp_config.hpp"

namespace ftp {

/// Builds an FtpSession per control connection. Beyond --max-clients open sessions, a new client is told
/// "421 Too many connections" and disconnected. Loop thread only.
class FtpFactory final : public cppd::Factory {
 public:
  FtpFactory(std::shared_ptr<const FtpConfig> config, cppd::Reactor& reactor);

  std::shared_ptr<cppd::Protocol> buildProtocol(const cppd::Address& addr) override;
  std::string logPrefix() const override { return "FtpFactory"; }

  std::size_t sessions() const noexcept { return *sessions_; }

 private:
  std::shared_ptr<const FtpConfig> config_;
  cppd::Reactor& reactor_;
  std::shared_ptr<std::size_t> sessions_;  // shared with the sessions, which may outlive the factory
};

}  // namespace ftp
