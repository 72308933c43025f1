#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

#include <cppd/reactor.hpp>

namespace ftp {

/// Logs refused connections without letting a flood of them flood the log: the first refusal of a kind is
/// logged at once, in full; later ones of that kind within the next second are only counted, and one line at
/// the end of that second says how many there were ("refused 4211 more connections in the last second: too
/// many clients (--max-clients)"). Loop thread only; timers are cancelled when the log is destroyed.
class RefusalLog {
 public:
  static constexpr std::chrono::milliseconds kWindow{1000};

  explicit RefusalLog(cppd::Reactor& reactor) : reactor_(reactor) {}
  ~RefusalLog();
  RefusalLog(const RefusalLog&) = delete;
  RefusalLog& operator=(const RefusalLog&) = delete;

  /// One refusal of kind ("too many clients (--max-clients)"); detail is the full line for the first one.
  void refused(const std::string& kind, const std::string& detail);

 private:
  struct Window {
    std::size_t suppressed = 0;
    cppd::DelayedCall end;
  };
  void close(const std::string& kind);

  cppd::Reactor& reactor_;
  std::map<std::string, Window> windows_;
};

}  // namespace ftp
