#pragma once

// The log lines a buffering observer holds back until the loop writes them (every second iteration), kept so that
// the paths of last resort (a fatal signal, the shutdown backstop's forced exit) can still write them without a
// lock.

#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace cppd::runner {

/// A fixed buffer of whole log lines for one descriptor. The owner (a log observer) appends, takes and releases
/// under its own lock; drainAll() may run at any moment on any thread, including inside a signal handler, and
/// writes what every live buffer holds with write(2) only. The buffer's memory never moves, and its range is one
/// atomic word, so each byte is taken for writing exactly once, by the owner or by drainAll(), and only whole
/// lines (an append becomes visible when it is complete).
class LineBuffer {
 public:
  /// Enough for a few hundred lines: a busy loop iteration writes once, and a huge iteration a few times.
  static constexpr std::size_t kCapacity = 64 * 1024;

  /// Registers the buffer for drainAll() (at most a handful are live in a process: the log file, stdout).
  LineBuffer();
  /// Unregisters it; whatever it still holds is dropped (the owner flushes first).
  ~LineBuffer();
  LineBuffer(const LineBuffer&) = delete;
  LineBuffer& operator=(const LineBuffer&) = delete;

  /// The descriptor drainAll() writes to. Owner's lock.
  void setFd(int fd) noexcept { fd_.store(fd, std::memory_order_release); }

  /// Adds one or more whole lines. False, and nothing added, when they do not fit or the buffer was abandoned by
  /// drainAll() (the process is on its way out: the owner then writes directly). Owner's lock.
  bool append(std::string_view lines) noexcept;
  /// Takes everything held for writing; the view stays valid until release(). Owner's lock.
  std::string_view take() noexcept;
  /// Ends a take(): the space can be reused. Owner's lock.
  void release() noexcept;

  std::size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }

  /// Writes what every live buffer holds to its descriptor, then abandons them all, so nothing appended later can
  /// reuse memory a write may still be reading. Async-signal-safe (atomics and write(2)); never blocks on a lock.
  /// For a fatal signal and for the backstop's forced exit, after which the process ends.
  static void drainAll() noexcept;

 private:
  static std::uint64_t pack(std::uint32_t begin, std::uint32_t end) noexcept {
    return (static_cast<std::uint64_t>(begin) << 32) | end;
  }
  static std::uint32_t beginOf(std::uint64_t range) noexcept { return static_cast<std::uint32_t>(range >> 32); }
  static std::uint32_t endOf(std::uint64_t range) noexcept { return static_cast<std::uint32_t>(range); }
  void drain() noexcept;

  std::unique_ptr<char[]> data_;
  // [begin, end) of data_ is held and not yet taken; begin only grows until release() resets both to 0.
  // Read by the fatal-signal flush: only lock-free atomics are async-signal-safe.
  static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<int>::is_always_lock_free);
  std::atomic<std::uint64_t> range_{0};
  std::atomic<int> fd_{-1};
  std::atomic<bool> abandoned_{false};
  int slot_ = -1;
};

}  // namespace cppd::runner
