#include <cppd/completion.hpp>

#include <stdexcept>
#include <utility>

namespace cppd {

struct Completion::State {
  bool fired = false;
  std::optional<std::string> failure;
  std::vector<Callback> callbacks;

  // reason is null for success. (A pointer rather than an optional by value: GCC 12 at -O3 warns falsely about
  // an uninitialized std::optional<std::string> moved through here.)
  void fire(std::string* reason) {
    if (fired) throw std::logic_error("Completion fired twice");
    fired = true;
    if (reason != nullptr) failure.emplace(std::move(*reason));
    // Callbacks may register further callbacks on this same completion; those run at once (fired is set).
    auto pending = std::move(callbacks);
    callbacks.clear();
    for (auto& callback : pending) callback(failure);
  }
};

Completion::Completion() : state_(std::make_shared<State>()) {}

Completion Completion::done() {
  Completion c;
  c.state_->fired = true;
  return c;
}

Completion Completion::failed(std::string reason) {
  Completion c;
  c.state_->fired = true;
  c.state_->failure = std::move(reason);
  return c;
}

Completion Completion::all(const std::vector<Completion>& parts) {
  if (parts.empty()) return done();
  struct Tally {
    std::size_t remaining;
    std::string failures;
    Completion result;
  };
  auto tally = std::make_shared<Tally>(Tally{parts.size(), {}, Completion()});
  for (const auto& part : parts) {
    part.whenDone([tally](const std::optional<std::string>& failure) {
      if (failure) {
        if (!tally->failures.empty()) tally->failures += "; ";
        tally->failures += *failure;
      }
      if (--tally->remaining > 0) return;
      if (tally->failures.empty()) {
        tally->result.succeed();
      } else {
        tally->result.fail(tally->failures);
      }
    });
  }
  return tally->result;
}

void Completion::succeed() { state_->fire(nullptr); }

void Completion::fail(std::string reason) { state_->fire(&reason); }

bool Completion::fired() const noexcept { return state_->fired; }

std::optional<std::string> Completion::failure() const { return state_->failure; }

void Completion::whenDone(Callback callback) const {
  if (state_->fired) {
    callback(state_->failure);
  } else {
    state_->callbacks.push_back(std::move(callback));
  }
}

}  // namespace cppd
