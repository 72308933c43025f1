#pragma once

// What workers tell their supervisor, through memory they share (mapped before the first fork): each worker's
// state, its loop's last heartbeat, the connections it accepted and why its start failed. Writing costs a worker
// no system call; the supervisor reads the board on a timer. Slots are reused once their worker has been reaped.

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <cppd/posix/unique_fd.hpp>

namespace cppd::runner {

class WorkerBoard {
 public:
  enum class State : std::uint32_t { starting, serving, failed, retiring };

  /// One worker's part. The worker writes; the supervisor reads and resets it before each fork.
  struct Slot {
    std::atomic<State> state{State::starting};
    std::atomic<std::int64_t> heartbeatNs{0};  // CLOCK_MONOTONIC, nanoseconds
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<int> failureCode{0};
    char failure[480]{};  // written before state becomes failed (release), so a reader that saw failed reads it

    /// Worker: startService completed.
    void serving() noexcept { state.store(State::serving, std::memory_order_release); }
    /// Worker: its loop is alive and has accepted this many connections.
    void beat(std::uint64_t acceptedSoFar) noexcept;
    /// Worker: it reached --max-requests and asks to be replaced.
    void retire() noexcept { state.store(State::retiring, std::memory_order_release); }
    /// Worker: the start failed with code and reason (cut to fit).
    void fail(int code, const std::string& reason) noexcept;
    /// Supervisor: the failure reason, once state is failed.
    std::string failureReason() const;
  };

  static constexpr std::size_t kSlots = 2048;  // twice the worker limit: a retiring worker and its replacement

  /// Maps the board: a memfd shared with every child forked later and, across a reload's exec, with the next
  /// image of the supervisor. Throws cppd::Error naming the step that failed.
  WorkerBoard();
  /// A reload's new image: maps the board the previous image handed over (fd, taken); the slots of the workers it
  /// adopts are marked used (adoptSlot).
  explicit WorkerBoard(int handedFd);
  ~WorkerBoard();
  WorkerBoard(const WorkerBoard&) = delete;
  WorkerBoard& operator=(const WorkerBoard&) = delete;

  /// A free slot, reset (starting, heartbeat now), or nullopt when all are taken.
  std::optional<std::size_t> take();
  void release(std::size_t index) noexcept;
  /// A reload's new image: slot index belongs to a worker of the previous generation, still running.
  void adoptSlot(std::size_t index) noexcept;
  /// The board's memfd (close-on-exec), for the next image.
  int fd() const noexcept { return fd_.get(); }
  Slot& slot(std::size_t index) noexcept { return slots_[index]; }
  const Slot& slot(std::size_t index) const noexcept { return slots_[index]; }

  /// CLOCK_MONOTONIC in nanoseconds, the clock of the heartbeats.
  static std::int64_t now() noexcept;

 private:
  void map();
  posix::UniqueFd fd_;
  Slot* slots_ = nullptr;
  bool used_[kSlots]{};         // supervisor only
  bool constructed_[kSlots]{};  // supervisor only
};

}  // namespace cppd::runner
