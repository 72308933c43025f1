#include "detail/writable_watch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace cppd::detail {

WritableWatch::WritableWatch(Reactor& reactor, int fd, std::function<void()> onWritable)
    : LoopHandle(reactor), fd_(fd), onWritable_(std::move(onWritable)) {
  poll_.data = static_cast<LoopHandle*>(this);
}

WritableWatch::~WritableWatch() = default;  // closes the duplicate after libuv let go of it

WritableWatch* WritableWatch::create(Reactor& reactor, int socket, std::function<void()> onWritable) {
  const int fd = ::fcntl(socket, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  auto* watch = new WritableWatch(reactor, fd, std::move(onWritable));
  const int init = uv_poll_init(uvLoop(reactor), &watch->poll_, fd);
  if (init != 0) {
    // Not yet a libuv handle: no close callback will come, so free it here.
    delete watch;
    errno = -init;
    return nullptr;
  }
  watch->poll_.data = static_cast<LoopHandle*>(watch);
  return watch;
}

int WritableWatch::arm() noexcept {
  if (closing()) return UV_ECANCELED;
  return uv_poll_start(&poll_, UV_WRITABLE, &WritableWatch::onPoll);
}

void WritableWatch::onClose() noexcept { onWritable_ = nullptr; }

void WritableWatch::onPoll(uv_poll_t* handle, int, int) noexcept {
  auto& self = static_cast<WritableWatch&>(*static_cast<LoopHandle*>(handle->data));
  uv_poll_stop(handle);
  // An error status (the socket failed) is reported as writable too: the owner's next sendfile sees the error.
  if (self.onWritable_) runGuarded("writable socket", self.onWritable_);
}

}  // namespace cppd::detail
