#include "http_factory.hpp"

#include <sys/resource.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <cppd/error.hpp>
#include <cppd/log.hpp>

#include "http_date.hpp"
#include "http_protocol.hpp"
#include "web_metrics.hpp"

namespace web {
namespace {

// The document root as the operator named it: "open document root DIR: Not a directory".
cppd::DirectoryJail openDocumentRoot(const std::string& directory) {
  int error = 0;
  std::optional<cppd::DirectoryJail> jail = cppd::DirectoryJail::tryOpen(directory, error);
  if (!jail) throw cppd::systemError("open document root", directory, error);
  return std::move(*jail);
}

}  // namespace

std::size_t connectionLimitFromDescriptors() {
  // The process's own: standard streams, the log, listening sockets, the loop's epoll, signal and async
  // descriptors, with room to spare.
  constexpr std::size_t kOwn = 64;
  constexpr std::size_t kReserved = kOwn + FileCache::kMaxOpenFiles + HttpFactory::kMaxRefusals;
  rlimit limit{};
  std::size_t soft = 1024;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    soft = limit.rlim_cur == RLIM_INFINITY ? std::size_t{1} << 20 : static_cast<std::size_t>(limit.rlim_cur);
  }
  return soft > kReserved + 2 ? (soft - kReserved) / 2 : 1;
}

HttpFactory::HttpFactory(WebConfig config, cppd::Reactor& reactor)
    : config_(std::move(config)),
      reactor_(reactor),
      root_(openDocumentRoot(config_.root)),
      files_(root_, config_.index, config_.listing),
      limit_(config_.maxConnections) {
  WebMetrics::get();  // registered now: a registration error fails the start, not a request
}

HttpFactory::~HttpFactory() { sweep_.cancel(); }

std::shared_ptr<cppd::Protocol> HttpFactory::buildProtocol(const cppd::Address& addr) {
  std::string host = addr.isTcp() ? addr.host() : std::string();
  if (config_.maxPerAddress != 0 && !host.empty()) {
    auto found = perAddress_.find(host);
    if (found != perAddress_.end() && found->second >= config_.maxPerAddress) {
      return refuse(host, "--max-connections-per-address");
    }
  }
  if (limit_ != 0 && live_.size() - refusals_ >= limit_ && !evictOne()) return refuse(host, "--max-connections");
  refusing_ = false;
  return std::make_shared<HttpProtocol>(shared_from_this(), std::move(host));
}

// Makes room by closing the connection that has waited longest for its client: an idle one, else one still
// sending its request, else one whose answer has not moved for a sweep (a reader that stopped). A connection
// still sending its request must have had a whole second: a new client's request may not have been read yet
// when the next connection is accepted. The last case walks every connection, but only when the limit is reached
// and nothing cheaper can go.
bool HttpFactory::evictOne() {
  HttpProtocol* victim = idle_.front();
  if (victim == nullptr && reading_.front() != nullptr && reading_.front()->hook().since < tick_) {
    victim = reading_.front();
  }
  if (victim == nullptr) {
    std::uint64_t oldest = tick_;
    for (HttpProtocol* protocol : live_) {
      const std::uint64_t since = protocol->stalledSince(tick_);
      if (since != 0 && since <= oldest) {
        oldest = since;
        victim = protocol;
      }
    }
  }
  if (victim == nullptr) return false;
  victim->evict();
  return true;
}

std::shared_ptr<cppd::Protocol> HttpFactory::refuse(const std::string& host, const char* why) {
  if (!refusing_) {
    cppd::log::warn("refusing connections ({} open, {} from {}): {}", live_.size() - refusals_,
                    perAddress_.count(host) != 0 ? perAddress_[host] : 0, host, why);
    refusing_ = true;
  }
  if (refusals_ >= kMaxRefusals) return nullptr;
  return std::make_shared<HttpProtocol>(shared_from_this(), host, HttpProtocol::Admission::refused);
}

void HttpFactory::add(HttpProtocol* protocol) {
  if (!live_.insert(protocol).second) return;
  if (protocol->refused()) {
    ++refusals_;
  } else if (config_.maxPerAddress != 0) {
    ++perAddress_[protocol->peerHost()];
  }
}

// Idempotent: an evicted connection leaves at once and again when its connectionLost comes.
void HttpFactory::remove(HttpProtocol* protocol) {
  ConnectionList::remove(protocol);
  if (live_.erase(protocol) == 0) return;
  if (protocol->refused()) {
    --refusals_;
  } else if (config_.maxPerAddress != 0) {
    auto found = perAddress_.find(protocol->peerHost());
    if (found != perAddress_.end() && --found->second == 0) perAddress_.erase(found);
  }
}

void HttpFactory::startFactory() {
  if (limit_ == 0) limit_ = connectionLimitFromDescriptors();
  cppd::log::info("serving {} (index {}, listings {}); at most {} connections{}", root_.path(), config_.index,
                  config_.listing ? "on" : "off", limit_,
                  config_.maxConnections == 0 ? " (from the descriptor limit)" : "");
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
  std::vector<HttpProtocol*> expired;
  for (HttpProtocol* protocol : live_) {
    if (protocol->deadlinePassed(tick_)) expired.push_back(protocol);
  }
  for (HttpProtocol* protocol : expired) protocol->evict();
}

}  // namespace web
