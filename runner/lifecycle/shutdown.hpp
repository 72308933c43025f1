#pragma once

// Stopping the service tree with a deadline: twistd's "before shutdown" stopService, plus what twistd lacks
// (#6011, #4406): a timeout, a forced exit, and the names of the services that had not stopped.

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <cppd/completion.hpp>
#include <cppd/reactor.hpp>
#include <cppd/service.hpp>

namespace cppd::runner {

class Shutdown {
 public:
  /// timeout zero means wait for ever.
  Shutdown(Reactor& reactor, std::shared_ptr<IService> root, std::chrono::milliseconds timeout);

  /// Stops the tree (plain MultiServices are walked so each service's stop is tracked; children stop at once,
  /// in reverse order, as MultiService does) and stops the reactor when every stop has fired, or forces the
  /// exit when the timeout expires. Calling it again does nothing.
  void begin();
  /// Gives up waiting: logs "Shutdown forced (<why>); services not stopped: a, b", tells the connections still
  /// open that the deadline has come (StreamServerService::stopDeadline: an ftp session says 421), and stops the
  /// reactor once they have closed or kDeadlineGrace has passed, whichever is first. Calling it again does
  /// nothing.
  void force(const std::string& why);

  /// How long the connections told of the deadline get to send their last words and close before the loop
  /// stops (and the runner closes whatever is left). Well inside the backstop's grace (shutdown_backstop.hpp).
  static constexpr std::chrono::milliseconds kDeadlineGrace{300};

  bool started() const noexcept { return started_; }
  bool forced() const noexcept { return forced_; }
  /// Paths ("app/child") of the services whose stop has not fired yet.
  std::vector<std::string> pending() const;

 private:
  Completion stopTree(IService& service, const std::string& path);
  std::size_t announceDeadline(IService& service);
  void finish();

  Reactor& reactor_;
  std::shared_ptr<IService> root_;
  std::chrono::milliseconds timeout_;
  bool started_ = false;
  bool forced_ = false;
  bool finished_ = false;
  DelayedCall timer_;
  std::vector<std::pair<std::string, Completion>> tracked_;
  // Completions may fire after this object is gone (a stop that ends after a forced exit): their callbacks
  // hold this token weakly and do nothing once it has expired.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// A readable label for a service: its name, or its demangled class name when it has none.
std::string serviceLabel(const IService& service);

}  // namespace cppd::runner
