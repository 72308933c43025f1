#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace ftp {

/// Failed password logins per client address (vsftpd's max_login_fails, fail2ban's idea inside the server):
/// after maxFailures failures from one address within blockTime, logins from that address are refused for
/// blockTime. Shared by every session of one server; loop thread only. Memory is bounded: at most kMaxTracked
/// addresses are remembered, expired ones are forgotten first, then the oldest.
class LoginGuard {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxTracked = 10000;

  /// maxFailures 0: no limit (nothing is ever refused).
  LoginGuard(unsigned maxFailures, std::chrono::milliseconds blockTime);

  /// True when host may try a password now.
  bool allowed(const std::string& host, Clock::time_point now = Clock::now());

  /// Counts a failed login from host; true when host is refused from now on.
  bool failed(const std::string& host, Clock::time_point now = Clock::now());

  std::size_t tracked() const noexcept { return hosts_.size(); }

 private:
  struct Record {
    unsigned failures = 0;
    Clock::time_point first;         // of the failures counted
    Clock::time_point blockedUntil;  // refused while now < blockedUntil
  };
  bool expired(const Record& record, Clock::time_point now) const;
  void makeRoom(Clock::time_point now);

  unsigned maxFailures_;
  std::chrono::milliseconds blockTime_;
  std::map<std::string, Record> hosts_;
};

}  // namespace ftp
