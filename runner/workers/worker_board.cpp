#include "workers/worker_board.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>

#include <fmt/core.h>

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

WorkerBoard::WorkerBoard() : fd_(::memfd_create("cppd-workers", MFD_CLOEXEC)) {
  if (!fd_) throw systemError("memfd_create", "the workers' board", errno);
  if (::ftruncate(fd_.get(), sizeof(Slot) * kSlots) != 0) throw systemError("ftruncate", "the workers' board", errno);
  map();
}

WorkerBoard::WorkerBoard(int handedFd) : fd_(handedFd) {
  struct stat info {};
  if (::fstat(fd_.get(), &info) != 0) throw systemError("fstat", "the handed-over workers' board", errno);
  if (static_cast<std::size_t>(info.st_size) != sizeof(Slot) * kSlots) {
    throw Error(ErrorKind::software, fmt::format("adopt the workers' board: it is {} bytes, this version's is {} (a "
                                                 "reload to a version with another board layout needs a restart)",
                                                 info.st_size, sizeof(Slot) * kSlots));
  }
  ::fcntl(fd_.get(), F_SETFD, FD_CLOEXEC);
  map();
}

void WorkerBoard::map() {
  static_assert(std::atomic<State>::is_always_lock_free && std::atomic<std::int64_t>::is_always_lock_free,
                "the board is shared between processes: its atomics must not hide a lock");
  void* memory = ::mmap(nullptr, sizeof(Slot) * kSlots, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
  if (memory == MAP_FAILED) throw systemError("mmap", "the workers' board", errno);
  slots_ = static_cast<Slot*>(memory);  // slots are constructed when first taken: untouched pages cost nothing
}

void WorkerBoard::adoptSlot(std::size_t index) noexcept {
  if (index >= kSlots) return;
  used_[index] = true;
  constructed_[index] = true;  // the previous image constructed it in the shared memory
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
