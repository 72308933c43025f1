#include "logging/line_buffer.hpp"

#include <limits.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cppd::runner {
namespace {

// The live buffers, for drainAll(): a fixed table of atomics, because a signal handler can walk nothing else.
constexpr int kSlots = 8;
std::atomic<LineBuffer*> liveBuffers[kSlots];

}  // namespace

LineBuffer::LineBuffer() : data_(new char[kCapacity]) {
  for (int i = 0; i < kSlots; ++i) {
    LineBuffer* expected = nullptr;
    if (liveBuffers[i].compare_exchange_strong(expected, this)) {
      slot_ = i;
      return;
    }
  }
  // More live buffers than slots (only tests make that many): this one is simply not drained by a fatal signal.
}

LineBuffer::~LineBuffer() {
  if (slot_ >= 0) liveBuffers[slot_].store(nullptr);
}

bool LineBuffer::append(std::string_view lines) noexcept {
  std::uint64_t range = range_.load(std::memory_order_relaxed);
  const std::uint32_t end = endOf(range);
  if (lines.size() > kCapacity - end) return false;
  std::memcpy(data_.get() + end, lines.data(), lines.size());
  const auto grown = static_cast<std::uint32_t>(end + lines.size());
  // Only the owner moves the end; drainAll() may move the begin meanwhile, hence the loop. The release order
  // publishes the bytes before the range that covers them.
  while (!abandoned_.load()) {
    if (range_.compare_exchange_weak(range, pack(beginOf(range), grown), std::memory_order_acq_rel)) return true;
  }
  return false;
}

std::string_view LineBuffer::take() noexcept {
  std::uint64_t range = range_.load(std::memory_order_acquire);
  while (!range_.compare_exchange_weak(range, pack(endOf(range), endOf(range)), std::memory_order_acq_rel)) {
  }
  return {data_.get() + beginOf(range), static_cast<std::size_t>(endOf(range) - beginOf(range))};
}

void LineBuffer::release() noexcept {
  if (abandoned_.load()) return;  // a drain may still be writing from this memory
  std::uint64_t range = range_.load(std::memory_order_acquire);
  if (beginOf(range) == endOf(range)) range_.compare_exchange_strong(range, 0, std::memory_order_acq_rel);
}

std::size_t LineBuffer::size() const noexcept {
  const std::uint64_t range = range_.load(std::memory_order_acquire);
  return endOf(range) - beginOf(range);
}

void LineBuffer::drain() noexcept {
  abandoned_.store(true);  // before taking: from here on the owner never writes into this memory again
  std::uint64_t range = range_.load(std::memory_order_acquire);
  while (!range_.compare_exchange_weak(range, pack(endOf(range), endOf(range)), std::memory_order_acq_rel)) {
  }
  const char* data = data_.get() + beginOf(range);
  std::size_t left = endOf(range) - beginOf(range);
  const int fd = fd_.load(std::memory_order_acquire);
  // A pipe nobody reads (stdout) must not hang the way out: wait a little for room, then write at most PIPE_BUF,
  // which a pipe with room takes without blocking.
  constexpr int kWritableWithinMs = 100;
  while (left > 0 && fd >= 0) {
    pollfd ready{fd, POLLOUT, 0};
    if (::poll(&ready, 1, kWritableWithinMs) <= 0 || (ready.revents & POLLOUT) == 0) return;
    const ssize_t written = ::write(fd, data, std::min<std::size_t>(left, PIPE_BUF));
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return;  // a failing log on the way out: nothing better to do
    data += written;
    left -= static_cast<std::size_t>(written);
  }
}

void LineBuffer::drainAll() noexcept {
  const int savedErrno = errno;
  for (auto& slot : liveBuffers) {
    if (LineBuffer* buffer = slot.load()) buffer->drain();
  }
  errno = savedErrno;
}

}  // namespace cppd::runner
