#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <cppd/export.hpp>

namespace cppd {

/// A small Deferred: the result of an operation that may finish later (stopService waiting for connections
/// to drain). It fires once, with success or with a failure reason. Copies share one state.
///
/// Thread affinity: loop thread only. Callbacks registered with whenDone() run synchronously inside
/// succeed()/fail(), in registration order, or immediately if the completion has already fired.
class CPPD_API Completion {
 public:
  using Callback = std::function<void(const std::optional<std::string>& failure)>;

  /// A pending completion.
  Completion();

  /// An already-fired successful completion.
  static Completion done();

  /// An already-fired failed completion carrying reason.
  static Completion failed(std::string reason);

  /// Fires when every part has fired; fails (reasons joined with "; ") if any part failed.
  /// An empty list gives an already-fired success.
  static Completion all(const std::vector<Completion>& parts);

  /// Fires with success. Throws std::logic_error if it has already fired.
  void succeed();

  /// Fires with a failure. Throws std::logic_error if it has already fired.
  void fail(std::string reason);

  bool fired() const noexcept;

  /// The failure reason once fired with a failure; empty while pending or after success.
  std::optional<std::string> failure() const;

  /// Runs callback when the completion fires (now, if it already has). Exceptions thrown by a callback
  /// are not caught here: callbacks must not throw.
  void whenDone(Callback callback) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cppd
