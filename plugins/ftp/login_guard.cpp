#include "login_guard.hpp"

#include <algorithm>

namespace ftp {

LoginGuard::LoginGuard(unsigned maxFailures, std::chrono::milliseconds blockTime)
    : maxFailures_(maxFailures), blockTime_(blockTime) {}

bool LoginGuard::expired(const Record& record, Clock::time_point now) const {
  return now >= record.blockedUntil && now - record.first >= blockTime_;
}

bool LoginGuard::allowed(const std::string& host, Clock::time_point now) {
  const auto found = hosts_.find(host);
  if (found == hosts_.end()) return true;
  if (expired(found->second, now)) {
    hosts_.erase(found);
    return true;
  }
  return now >= found->second.blockedUntil;
}

bool LoginGuard::failed(const std::string& host, Clock::time_point now) {
  if (maxFailures_ == 0) return false;
  auto found = hosts_.find(host);
  if (found != hosts_.end() && expired(found->second, now)) {
    hosts_.erase(found);
    found = hosts_.end();
  }
  if (found == hosts_.end()) {
    makeRoom(now);
    found = hosts_.emplace(host, Record{0, now, now}).first;
  }
  Record& record = found->second;
  if (++record.failures >= maxFailures_) {
    record.blockedUntil = now + blockTime_;
    record.first = now;  // the record lives until the block ends
    record.failures = 0;
    return true;
  }
  return false;
}

// A flood of addresses (IPv6 gives an attacker many) must not grow the table without bound.
void LoginGuard::makeRoom(Clock::time_point now) {
  if (hosts_.size() < kMaxTracked) return;
  for (auto it = hosts_.begin(); it != hosts_.end();) {
    it = expired(it->second, now) ? hosts_.erase(it) : std::next(it);
  }
  if (hosts_.size() < kMaxTracked) return;
  const auto oldest = std::min_element(hosts_.begin(), hosts_.end(),
                                       [](const auto& a, const auto& b) { return a.second.first < b.second.first; });
  hosts_.erase(oldest);
}

}  // namespace ftp
