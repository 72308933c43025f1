#pragma once

#include <uv.h>

#include <functional>

#include <cppd/posix/unique_fd.hpp>

#include "detail/reactor_impl.hpp"

namespace cppd::detail {

/// Tells its owner when a socket becomes writable, for output libuv's stream does not write itself (sendfile).
/// It polls a dup() of the socket: libuv keeps one watcher per descriptor number and the connection's uv_tcp_t
/// already has the original, while epoll watches each (file, descriptor) pair separately.
///
/// The owner starts and stops it and calls close() when it goes away (after which the callback is never
/// called); the duplicate is closed in the destructor, after libuv has removed it from epoll. Loop thread only.
class WritableWatch final : public LoopHandle {
 public:
  /// Duplicates socket; returns nullptr (with errno set) if dup or uv_poll_init fails.
  static WritableWatch* create(Reactor& reactor, int socket, std::function<void()> onWritable);

  /// Calls onWritable once, the next time the socket can take more bytes. Returns a libuv status.
  int arm() noexcept;

  uv_handle_t* uvHandle() noexcept override { return reinterpret_cast<uv_handle_t*>(&poll_); }

 private:
  WritableWatch(Reactor& reactor, int fd, std::function<void()> onWritable);
  ~WritableWatch() override;
  void onClose() noexcept override;
  static void onPoll(uv_poll_t* handle, int status, int events) noexcept;

  uv_poll_t poll_{};
  posix::UniqueFd fd_;
  std::function<void()> onWritable_;
};

}  // namespace cppd::detail
