#include "http_factory.hpp"

#include <chrono>
#include <cmath>
#include <utility>
#include <vector>

#include <cppd/log.hpp>

#include "http_date.hpp"
#include "http_protocol.hpp"

namespace web {

HttpFactory::HttpFactory(WebConfig config, cppd::Reactor& reactor)
    : config_(std::move(config)),
      reactor_(reactor),
      root_(config_.root),
      files_(root_, config_.index, config_.listing) {}

HttpFactory::~HttpFactory() { sweep_.cancel(); }

std::shared_ptr<cppd::Protocol> HttpFactory::buildProtocol(const cppd::Address&) {
  if (config_.maxConnections != 0 && live_.size() >= config_.maxConnections) {
    if (!refusing_) {
      cppd::log::warn("refusing connections: {} are open (--max-connections)", live_.size());
      refusing_ = true;
    }
    return nullptr;
  }
  refusing_ = false;
  return std::make_shared<HttpProtocol>(shared_from_this());
}

void HttpFactory::startFactory() {
  cppd::log::info("serving {} (index {}, listings {})", root_.path(), config_.index, config_.listing ? "on" : "off");
  scheduleSweep();
}

void HttpFactory::stopFactory() { sweep_.cancel(); }

void HttpFactory::scheduleSweep() {
  sweep_ = reactor_.callLater(std::chrono::seconds(1), [this] {
    ++tick_;
    sweep();
    scheduleSweep();
  });
}

const std::string& HttpFactory::date(std::time_t now) {
  if (now != dateSecond_) {
    date_ = formatHttpDate(now);
    dateSecond_ = now;
  }
  return date_;
}

void HttpFactory::sweep() {
  const bool keepAliveExpires = config_.keepAliveTimeout > 0;
  const auto timeout = keepAliveExpires ? static_cast<std::uint64_t>(std::ceil(config_.keepAliveTimeout)) : 0;
  std::vector<HttpProtocol*> expired;
  for (HttpProtocol* protocol : live_) {
    if (protocol->lingerExpired(tick_) ||
        (keepAliveExpires && tick_ >= timeout && protocol->idleSince(tick_ - timeout))) {
      expired.push_back(protocol);
    }
  }
  // loseConnection ends a lingering (half-closed) connection too; on one already closing it does nothing.
  for (HttpProtocol* protocol : expired) protocol->transport().loseConnection();
}

}  // namespace web
