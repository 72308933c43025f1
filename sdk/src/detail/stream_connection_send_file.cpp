// StreamConnection's file output: sendFile, writeAndSendFile and the deferred queue that keeps them in order with
// the writes around them (see the class comment in stream_connection.hpp).
#include "detail/stream_connection.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include <fmt/format.h>

#include "detail/connection_set.hpp"
#include "detail/writable_watch.hpp"

namespace cppd::detail {
namespace {

// How much one connection may sendfile before it lets the loop serve the others (it resumes when the socket is
// writable again, which for a fast reader is the next loop iteration).
constexpr std::uint64_t kFileTurnBytes = 4 * 1024 * 1024;

}  // namespace

void StreamConnection::sendFile(std::shared_ptr<const SharedFile> file, std::uint64_t offset, std::uint64_t length) {
  if (!writable() || !file || length == 0) return;
  releaseHeld();
  if (!attach()) return;  // libuv makes the socket non-blocking, which sendfile relies on
  defer(Deferred{{}, nullptr, std::move(file), offset, length});
  if (deferred_.size() == 1 && pendingWrites_ == 0) pump();
}

// The head goes to the kernel with MSG_MORE, which holds it back until the first sendfile adds the file's
// bytes, so head and body share full packets; anything the socket did not take waits in deferred_ before the
// file, as a plain write() would.
void StreamConnection::writeAndSendFile(std::string_view head, std::shared_ptr<const SharedFile> file,
                                        std::uint64_t offset, std::uint64_t length) {
  releaseHeld();
  if (!writable() || !file || length == 0 || head.empty() || !deferred_.empty() || pendingWrites_ != 0 ||
      !peer_.isTcp() || !attach()) {
    ITransport::writeAndSendFile(head, std::move(file), offset, length);
    return;
  }
  const ssize_t sent = ::send(fd_, head.data(), head.size(), MSG_MORE | MSG_NOSIGNAL | MSG_DONTWAIT);
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    closeWithStatus("write", -errno);
    return;
  }
  const std::size_t done = sent > 0 ? static_cast<std::size_t>(sent) : 0;
  if (done < head.size()) defer(Deferred{std::string(head.substr(done)), nullptr, nullptr, 0, 0});
  defer(Deferred{{}, nullptr, std::move(file), offset, length});
  pump();
}

void StreamConnection::defer(Deferred item) {
  if (item.remaining == 0) item.remaining = item.owned.size();
  deferredBytes_ += item.remaining;
  deferred_.push_back(std::move(item));
}

// Sends deferred output in order while libuv's own queue is empty. Returns when everything is sent, when a
// uv_write is queued (onWritten calls again), when the socket is full (the watch calls again) or on close.
void StreamConnection::pump() {
  while (!deferred_.empty() && !closing() && pendingWrites_ == 0) {
    Deferred& front = deferred_.front();
    if (front.file) {
      if (!sendFromFile(front)) return;
      deferred_.pop_front();
      continue;
    }
    Deferred item = std::move(front);
    deferred_.pop_front();
    deferredBytes_ -= item.remaining;
    if (item.shared) {
      writeSharedNow(std::move(item.shared));
    } else {
      writeNow(item.owned);
    }
  }
  if (deferred_.empty() && pendingWrites_ == 0) drained();
}

// Sends the front file range with sendfile(2). True when it is all sent; false when waiting or closed.
bool StreamConnection::sendFromFile(Deferred& item) {
  std::uint64_t turn = 0;
  while (item.remaining > 0) {
    if (turn >= kFileTurnBytes) {
      waitWritable();
      return false;
    }
    auto position = static_cast<off_t>(item.offset);
    const std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(item.remaining, 1u << 30));
    const ssize_t sent = ::sendfile(fd_, item.file->fd(), &position, chunk);
    if (sent > 0) {
      const auto n = static_cast<std::uint64_t>(sent);
      item.offset += n;
      item.remaining -= n;
      deferredBytes_ -= n;
      turn += n;
      set_->metrics().bytesSent.add(n);
    } else if (sent == 0) {
      closeWith(false, fmt::format("Connection aborted: sendFile: the file ended at byte {}, {} bytes short of "
                                   "the range promised to the peer.", item.offset, item.remaining));
      return false;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      waitWritable();
      return false;
    } else if (errno != EINTR) {
      closeWithStatus("sendfile", -errno);
      return false;
    }
  }
  item.file.reset();
  return true;
}

void StreamConnection::waitWritable() {
  if (watch_ == nullptr) {
    watch_ = WritableWatch::create(set_->reactor(), fd_, [this] { onWritable(); });
    if (watch_ == nullptr) {
      closeWithStatus("watch socket for sendfile", -errno);
      return;
    }
  }
  const int status = watch_->arm();
  if (status != 0) closeWithStatus("watch socket for sendfile", status);
}

}  // namespace cppd::detail
