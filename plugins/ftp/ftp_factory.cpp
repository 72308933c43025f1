#include "ftp_factory.hpp"

#include <utility>

#include <cppd/log.hpp>

#include "ftp_session.hpp"

namespace ftp {
namespace {

// Tells a client over the limit to come back later, and hangs up.
class TooManyClients final : public cppd::Protocol {
 public:
  void connectionMade() override {
    transport().write("421 Too many connections; try again later.\r\n");
    transport().loseConnection();
  }
};

}  // namespace

FtpFactory::FtpFactory(std::shared_ptr<const FtpConfig> config, cppd::Reactor& reactor)
    : config_(std::move(config)), reactor_(reactor), sessions_(std::make_shared<std::size_t>(0)) {}

std::shared_ptr<cppd::Protocol> FtpFactory::buildProtocol(const cppd::Address& addr) {
  if (config_->maxClients != 0 && *sessions_ >= config_->maxClients) {
    cppd::log::warn("refusing {}: {} clients already connected (--max-clients)", addr.toString(), *sessions_);
    return std::make_shared<TooManyClients>();
  }
  ++*sessions_;
  return std::make_shared<FtpSession>(config_, reactor_, [sessions = sessions_] { --*sessions; });
}

}  // namespace ftp
