#include "workers/worker_board.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>

#include <cppd/error.hpp>

namespace cppd::runner {

void WorkerBoard::Slot::beat(std::uint64_t acceptedSoFar) noexcept {
  accepted.store(acceptedSoFar, std::memory_order_relaxed);
  heartbeatNs.store(WorkerBoard::now(), std::memory_order_release);
}

void WorkerBoard::Slot::fail(int code, const std::string& reason) noexcept {
  const std::size_t length = std::min(reason.size(), sizeof failure - 1);
  std::memcpy(failure, reason.data(), length);
  failure[length] = '\0';
  failureCode.store(code, std::memory_order_relaxed);
  state.store(State::failed, std::memory_order_release);
}

std::string WorkerBoard::Slot::failureReason() const { return std::string(failure, ::strnlen(failure, sizeof failure)); }

WorkerBoard::WorkerBoard() {
  static_assert(std::atomic<State>::is_always_lock_free && std::atomic<std::int64_t>::is_always_lock_free,
                "the board is shared between processes: its atomics must not hide a lock");
  void* memory = ::mmap(nullptr, sizeof(Slot) * kSlots, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) throw systemError("mmap", "the workers' board", errno);
  slots_ = static_cast<Slot*>(memory);  // slots are constructed when first taken: untouched pages cost nothing
}

WorkerBoard::~WorkerBoard() { ::munmap(slots_, sizeof(Slot) * kSlots); }

std::optional<std::size_t> WorkerBoard::take() {
  for (std::size_t i = 0; i < kSlots; ++i) {
    if (used_[i]) continue;
    used_[i] = true;
    if (!constructed_[i]) {
      new (&slots_[i]) Slot();
      constructed_[i] = true;
    }
    Slot& s = slots_[i];
    s.state.store(State::starting);
    s.accepted.store(0);
    s.failureCode.store(0);
    s.failure[0] = '\0';
    s.heartbeatNs.store(now());
    return i;
  }
  return std::nullopt;
}

void WorkerBoard::release(std::size_t index) noexcept { used_[index] = false; }

std::int64_t WorkerBoard::now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace cppd::runner
