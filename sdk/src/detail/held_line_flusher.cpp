#include "detail/held_line_flusher.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>

#include <cppd/log.hpp>

namespace cppd::detail {
namespace {

// Bounds how long a held line waits when the loop waits for I/O with its last iteration's lines held (they would
// otherwise wait for the next event), or when an iteration takes long (a callback that logs and then blocks):
// while lines are being held it flushes every kLogHoldLimit; after a quiet second it parks until the next held
// line, so an idle process is never woken. Started on the first held line, in each process (a forked child starts
// its own).
class HeldLineFlusher {
 public:
  // Called under the log's lock for every event logged inside a batch: a relaxed store, and a wake-up only
  // after the flusher parked.
  void noteHeld() noexcept {
    held_.store(true);
    if (parked_.load()) {
      std::lock_guard lock(mutex_);
      wake_.notify_one();
    }
  }

  // The thread takes no signal: one sent to the process must reach the loop's thread, which may be holding it
  // blocked until its handler exists (a worker, a starting supervisor), not die here by its default action.
  static void start(HeldLineFlusher* flusher) {
    sigset_t all;
    sigset_t previous;
    ::sigfillset(&all);
    ::pthread_sigmask(SIG_BLOCK, &all, &previous);
    try {
      std::thread([flusher] { flusher->run(); }).detach();
    } catch (...) {
      ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
      throw;
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  }

 private:
  static constexpr int kQuietRoundsBeforeParking = 10;

  void run() noexcept {
    std::unique_lock lock(mutex_);
    int quiet = 0;
    for (;;) {
      if (quiet >= kQuietRoundsBeforeParking) {
        parked_.store(true);
        wake_.wait(lock, [this] { return held_.load(); });
        parked_.store(false);
        quiet = 0;
      }
      wake_.wait_for(lock, kLogHoldLimit);
      if (!held_.exchange(false)) {
        ++quiet;
        continue;
      }
      quiet = 0;
      lock.unlock();
      log::flush();
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> held_{false};
  std::atomic<bool> parked_{false};
};

// This process's flusher. Never destroyed: its thread runs until the process ends. A forked child does not have
// the thread, so the child handler forgets the parent's (leaking it, its mutex may be held for ever).
HeldLineFlusher* flusher = nullptr;

}  // namespace

void noteHeldLine() noexcept {
  if (flusher == nullptr) {
    try {
      auto created = std::make_unique<HeldLineFlusher>();
      HeldLineFlusher::start(created.get());
      flusher = created.release();
    } catch (const std::exception&) {
      // No thread (EAGAIN, out of memory): held lines still leave before each wait of the loop. Said once.
      static bool reported = false;  // under the log's lock
      static constexpr std::string_view message =
          "cppd: cannot start the log's flush thread; held lines wait for the loop\n";
      if (!reported) {
        reported = true;
        [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, message.data(), message.size());
      }
      return;
    }
  }
  flusher->noteHeld();
}

void forgetHeldLineFlusherAfterFork() noexcept { flusher = nullptr; }

}  // namespace cppd::detail
