// How an HttpProtocol's connection ends other than by the client: the deadlines the factory's sweep checks,
// eviction, and the drain of a stopping server (see http_protocol.hpp).
#include <algorithm>
#include <cmath>

#include "http_factory.hpp"
#include "http_protocol.hpp"

namespace web {
namespace {

// Seconds of a deadline as sweep ticks, rounded up: a deadline is never shorter than asked.
std::uint64_t ticks(double seconds) { return static_cast<std::uint64_t>(std::ceil(seconds)); }

}  // namespace

void HttpProtocol::evict() {
  factory_->remove(this);
  if (transport().bufferedBytes() == 0) {
    transport().loseConnection();  // ends a lingering (half-closed) connection too
  } else {
    transport().abortConnection();
  }
}

bool HttpProtocol::deadlinePassed(std::uint64_t now) {
  const std::size_t buffered = transport().bufferedBytes();
  // An answer to a request with a chunked body can be a whole file: it is sent under the send timeout first.
  if (lingering_ && (buffered == 0 || !bodyUnread_)) return now >= phaseStart_ + lingerTicks_;
  const WebConfig& config = factory_->config();
  if (buffered != lastBuffered_ || buffered == 0) {
    lastBuffered_ = buffered;
    sendProgress_ = now;
  }
  if (buffered != 0) return now > sendProgress_ + ticks(config.sendTimeout);
  switch (phase_) {
    case Phase::waiting:
    case Phase::head: return now > phaseStart_ + ticks(config.headerTimeout);
    case Phase::body: return now > phaseStart_ + ticks(config.bodyTimeout);
    case Phase::idle: return now > phaseStart_ + ticks(config.keepAliveTimeout);
    case Phase::answering: return now > phaseStart_ + ticks(config.sendTimeout);
  }
  return false;
}

std::uint64_t HttpProtocol::stalledSince(std::uint64_t now) const {
  if (refused() || lingering_ || lastBuffered_ == 0 || sendProgress_ >= now) return 0;
  return transport().bufferedBytes() == lastBuffered_ ? sendProgress_ + 1 : 0;
}

void HttpProtocol::stopRequested() {
  draining_ = true;
  if (closing_) return;  // the answer that closes it is on its way, or it is lingering after a refusal
  // A request being read or answered finishes first: its answer (or, once it is sent, the grace) ends it.
  if (phase_ == Phase::idle || phase_ == Phase::waiting) closeIdleAfterGrace();
}

// The grace runs from the moment the connection is idle and the server stopping, so a client that has just read
// a keep-alive answer still has time to send the request it was about to send.
void HttpProtocol::closeIdleAfterGrace() {
  if (grace_.active()) return;
  const WebConfig& config = factory_->config();
  const double grace = std::min(config.drainGrace, config.keepAliveTimeout);
  const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(grace * 1000)));
  grace_ = factory_->reactor().callLater(delay, [this] { closeIfIdle(); });
}

void HttpProtocol::closeIfIdle() {
  if (!connected() || closing_ || (phase_ != Phase::idle && phase_ != Phase::waiting)) return;
  closing_ = true;
  transport().loseConnection();
}

}  // namespace web
