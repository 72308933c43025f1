#include "detail/stream_connection.hpp"

#include <algorithm>
#include <cstring>

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include <exception>
#include <memory>
#include <new>
#include <utility>

#include <fmt/format.h>

#include <cppd/log.hpp>

#include "detail/connection_set.hpp"
#include "detail/protocol_access.hpp"
#include "detail/socket_address.hpp"
#include "detail/writable_watch.hpp"

namespace cppd::detail {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;
// The largest write() of connectionMade that is held, since holding copies it; a larger one goes out at once. A
// shared buffer (writeShared) costs nothing to hold, so it is held whatever its size.
constexpr std::size_t kHeldLimit = 16 * 1024;

StreamConnection& fromHandle(void* handle) {
  return static_cast<StreamConnection&>(*static_cast<LoopHandle*>(static_cast<uv_handle_t*>(handle)->data));
}

// "ecstasy:PoetryProtocol,3,127.0.0.1", twistd's per-connection system, copied piece by piece into storage when
// it fits, else into spill; returns it. It is built for every connection: fmt::format's run-time parsing of a
// pattern cost more than the rest of the constructor, and a heap string one allocation and free more.
std::string_view buildConnectionContext(std::array<char, 64>& storage, std::string& spill, ConnectionSet& set,
                                        const std::string& protocol, const std::string& host) {
  const fmt::format_int session(set.nextSession());
  const std::string_view parts[] = {set.contextPrefix(), protocol, ",", {session.data(), session.size()}, ",", host};
  std::size_t size = 0;
  for (std::string_view part : parts) size += part.size();
  if (size <= storage.size()) {
    char* out = storage.data();
    for (std::string_view part : parts) {
      if (!part.empty()) std::memcpy(out, part.data(), part.size());
      out += part.size();
    }
    return {storage.data(), size};
  }
  spill.reserve(size);
  for (std::string_view part : parts) spill.append(part);
  return spill;
}

// The reason of every orderly close, made once: a reason built per connection cost a heap allocation for its
// message. Never destroyed, as connections may still close during the process's exit.
const DisconnectReason& cleanReason() {
  static const auto* const reason = new DisconnectReason{};
  return *reason;
}

}  // namespace

// A queued write: the request and whatever keeps its bytes alive until libuv is done with them.
struct StreamConnection::WriteRequest {
  uv_write_t request{};
  std::string owned;
  std::shared_ptr<const std::string> shared;
  std::size_t length = 0;  // bytes it sends
};

StreamConnection::StreamConnection(std::shared_ptr<ConnectionSet> connections, Address peer,
                                   std::shared_ptr<Protocol> protocol)
    : LoopHandle(connections->reactor()),
      set_(std::move(connections)),
      peer_(std::move(peer)),
      protocol_(std::move(protocol)) {
  context_ = buildConnectionContext(contextInline_, contextSpill_, *set_, protocol_->logPrefix(),
                                    peer_.isTcp() ? peer_.host() : set_->unixLabel());
  if (peer_.isTcp()) {
    uv_tcp_init(uvLoop(set_->reactor()), &handle_.tcp);  // cannot fail: no socket is created here
  } else {
    uv_pipe_init(uvLoop(set_->reactor()), &handle_.pipe, 0);
  }
  handle_.tcp.data = static_cast<LoopHandle*>(this);
  set_->add(*this);
}


void StreamConnection::start(std::shared_ptr<ConnectionSet> connections, int fd, Address peer,
                             std::shared_ptr<Protocol> protocol) {
  auto* self = new StreamConnection(std::move(connections), std::move(peer), std::move(protocol));
  self->fd_ = fd;
  self->begin();
}

// Hands the descriptor to libuv, which the connection needs only to queue writes or to read. A connection that
// writes everything at once and closes (a poem) never gets here: that saves the ioctl libuv would make and the
// epoll_ctl of its close, per connection.
bool StreamConnection::attach() {
  if (attached_) return true;
  const int status = peer_.isTcp() ? uv_tcp_open(&handle_.tcp, fd_) : uv_pipe_open(&handle_.pipe, fd_);
  if (status != 0) {
    runGuarded("log", [&] {
      LogContext context(context_);
      log::error("cannot hand the connection to the event loop: {} ({})", uv_strerror(status), uv_err_name(status));
    });
    closeWithStatus("open accepted connection", status);
    return false;
  }
  attached_ = true;
  return true;
}

template <typename Fn>
void StreamConnection::guarded(const char* what, Fn&& fn) noexcept {
  try {
    LogContext context(context_);
    try {
      std::forward<Fn>(fn)();
    } catch (const std::exception& e) {
      log::error("Unhandled error in {}: {}", what, e.what());
      closeWith(false, fmt::format("{} failed: {}", what, e.what()));
    } catch (...) {
      log::error("Unhandled error in {}: unknown exception", what);
      closeWith(false, fmt::format("{} failed: unknown exception", what));
    }
  } catch (const std::exception& e) {
    logCallbackFailure(what, e.what());  // logging itself failed (out of memory)
    closeWith(false, e.what());
  }
}

void StreamConnection::begin() {
  made_ = true;
  holding_ = !attached_ && fd_ >= 0;
  guarded("connectionMade", [this] { protocol_->makeConnection(*this); });
  holding_ = false;
  releaseHeld();
  if (closing() || disconnecting_) return;
  startReading();
}

void StreamConnection::startReading() {
  if (reading_ || !attach()) return;
  const int status = uv_read_start(stream(), &StreamConnection::onAlloc, &StreamConnection::onRead);
  if (status != 0) {
    closeWithStatus("read", status);
    return;
  }
  reading_ = true;
}

void StreamConnection::onAlloc(uv_handle_t*, std::size_t, uv_buf_t* buffer) noexcept {
  // Every read is delivered to dataReceived before the next allocation, so one buffer per thread is enough. Made
  // at the thread's first read: as an array in libcppd's static TLS it was zeroed at every start of every process
  // and thread that links libcppd (16 page faults, and 64 KiB of RSS per thread, reading or not).
  thread_local std::unique_ptr<char[]> storage;
  if (!storage) storage.reset(new (std::nothrow) char[kReadBufferSize]);
  // Without it the buffer is empty, which libuv reports to onRead as UV_ENOBUFS: the connection closes.
  *buffer = storage ? uv_buf_init(storage.get(), kReadBufferSize) : uv_buf_init(nullptr, 0);
}

void StreamConnection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) noexcept {
  StreamConnection& self = fromHandle(stream);
  if (nread > 0) {
    if (!self.readable()) return;
    const std::string_view data(buffer->base, static_cast<std::size_t>(nread));
    self.guarded("dataReceived", [&self, data] { self.protocol_->dataReceived(data); });
  } else if (nread == UV_EOF) {
    self.closeCleanly();
  } else if (nread < 0) {
    self.closeWithStatus("read", static_cast<int>(nread));
  }
}

std::size_t StreamConnection::tryWrite(const uv_buf_t* buffers, unsigned count, std::size_t total, bool more) {
  if (pendingWrites_ != 0) return 0;  // keep the order: queued bytes go first
  int written = 0;
  if (attached_) {
    written = uv_try_write(stream(), buffers, count);
  } else {
    // uv_buf_t has iovec's layout on Unix (libuv documents it), so the buffers go to sendmsg as they are.
    msghdr message{};
    message.msg_iov = reinterpret_cast<iovec*>(const_cast<uv_buf_t*>(buffers));
    message.msg_iovlen = count;
    const ssize_t sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));
    written = sent >= 0 ? static_cast<int>(sent) : (errno == EAGAIN || errno == EWOULDBLOCK ? UV_EAGAIN : -errno);
  }
  if (written > 0) set_->metrics().bytesSent.add(static_cast<std::uint64_t>(written));
  if (written >= 0 || written == UV_EAGAIN) return written >= 0 ? static_cast<std::size_t>(written) : 0;
  closeWithStatus("write", written);
  return total;
}

void StreamConnection::enqueue(WriteRequest* request, const char* data, std::size_t length) {
  if (!attach()) {
    delete request;
    return;
  }
  request->request.data = request;
  request->length = length;
  const uv_buf_t buffer = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(length));
  const int status = uv_write(&request->request, stream(), &buffer, 1, &StreamConnection::onWritten);
  if (status != 0) {
    delete request;
    closeWithStatus("write", status);
    return;
  }
  ++pendingWrites_;
}

// Sends the write held during connectionMade, if any. When the protocol asked to close and nothing else waits,
// the bytes go with MSG_MORE and the close follows here: the kernel then sends them and the FIN in one segment.
void StreamConnection::releaseHeld() {
  if (!hasHeld()) return;
  // Taken out of the members, so nothing stays allocated for the rest of the connection.
  std::shared_ptr<const std::string> shared = std::move(heldShared_);
  std::string copy = std::move(heldCopy_);
  heldCopy_.clear();
  const std::string_view data = shared ? std::string_view(*shared) : std::string_view(copy);
  // Nothing is queued while a write is held: after loseConnection, a complete send is followed by the close below;
  // a partial one queues the rest, whose uv_write pushes the held-back tail.
  const bool closeNext = disconnecting_ && peer_.isTcp();
  const uv_buf_t buffer = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  const std::size_t done = tryWrite(&buffer, 1, data.size(), closeNext);
  if (done < data.size() && !closing()) {
    auto* request = new WriteRequest;
    if (shared) {
      request->shared = std::move(shared);
      enqueue(request, data.data() + done, data.size() - done);
    } else {
      request->owned = std::move(copy);
      request->owned.erase(0, done);
      enqueue(request, request->owned.data(), request->owned.size());
    }
  }
  if (disconnecting_ && pendingWrites_ == 0 && deferred_.empty()) closeCleanly();
}

void StreamConnection::write(std::string_view data) {
  if (!writable() || data.empty()) return;
  if (canHold() && data.size() <= kHeldLimit) {
    heldCopy_.assign(data);
    return;
  }
  releaseHeld();
  if (!deferred_.empty()) {
    defer(Deferred{std::string(data), nullptr, nullptr, 0, data.size()});
    return;
  }
  writeNow(data);
}

void StreamConnection::writeNow(std::string_view data) {
  const uv_buf_t buffer = uv_buf_init(const_cast<char*>(data.data()), static_cast<unsigned>(data.size()));
  const std::size_t done = tryWrite(&buffer, 1, data.size());
  if (done == data.size()) return;
  auto* request = new WriteRequest;
  request->owned.assign(data.substr(done));
  enqueue(request, request->owned.data(), request->owned.size());
}

void StreamConnection::writeShared(std::shared_ptr<const std::string> data) {
  if (!writable() || !data || data->empty()) return;
  if (canHold()) {
    heldShared_ = std::move(data);
    return;
  }
  releaseHeld();
  if (!deferred_.empty()) {
    const std::size_t size = data->size();
    defer(Deferred{{}, std::move(data), nullptr, 0, size});
    return;
  }
  writeSharedNow(std::move(data));
}

void StreamConnection::writeSharedNow(std::shared_ptr<const std::string> data) {
  const uv_buf_t buffer = uv_buf_init(const_cast<char*>(data->data()), static_cast<unsigned>(data->size()));
  const std::size_t done = tryWrite(&buffer, 1, data->size());
  if (done == data->size()) return;
  auto* request = new WriteRequest;
  const char* rest = data->data() + done;
  const std::size_t length = data->size() - done;
  request->shared = std::move(data);
  enqueue(request, rest, length);
}

void StreamConnection::writeSequence(const std::vector<std::string_view>& pieces) {
  if (!writable()) return;
  releaseHeld();
  if (!deferred_.empty()) {
    std::string joined;
    for (std::string_view piece : pieces) joined.append(piece);
    if (!joined.empty()) defer(Deferred{std::move(joined), nullptr, nullptr, 0, 0});
    return;
  }
  std::vector<uv_buf_t> buffers;
  buffers.reserve(pieces.size());
  std::size_t total = 0;
  for (std::string_view piece : pieces) {
    buffers.push_back(uv_buf_init(const_cast<char*>(piece.data()), static_cast<unsigned>(piece.size())));
    total += piece.size();
  }
  if (total == 0) return;
  std::size_t done = tryWrite(buffers.data(), static_cast<unsigned>(buffers.size()), total);
  if (done == total) return;
  auto* request = new WriteRequest;
  request->owned.reserve(total - done);
  for (std::string_view piece : pieces) {
    const std::size_t skip = std::min(done, piece.size());
    request->owned.append(piece.substr(skip));
    done -= skip;
  }
  enqueue(request, request->owned.data(), request->owned.size());
}

void StreamConnection::onWritable() {
  guarded("sendFile", [this] { pump(); });
}

void StreamConnection::onWritten(uv_write_t* request, int status) noexcept {
  StreamConnection& self = fromHandle(request->handle);
  auto* done = static_cast<WriteRequest*>(request->data);
  if (status >= 0) self.set_->metrics().bytesSent.add(done->length);
  delete done;
  --self.pendingWrites_;
  if (status < 0) {
    if (status != UV_ECANCELED) self.closeWithStatus("write", status);
    return;
  }
  if (self.pendingWrites_ != 0) return;
  if (self.deferred_.empty()) {
    self.drained();
  } else {
    self.guarded("sendFile", [&self] { self.pump(); });
  }
}

void StreamConnection::drained() {
  if (closing()) return;
  std::vector<std::function<void()>> callbacks = std::move(drainCallbacks_);
  drainCallbacks_.clear();
  for (auto& callback : callbacks) {
    if (closing()) return;
    guarded("whenDrained callback", callback);
  }
  if (disconnecting_ && pendingWrites_ == 0 && deferred_.empty()) {
    closeCleanly();
    return;
  }
  shutdownWhenSent();
}

void StreamConnection::whenDrained(std::function<void()> callback) {
  if (closing() || !callback) return;
  releaseHeld();  // may complete a loseConnection made in connectionMade
  if (closing()) return;
  if (pendingWrites_ == 0 && deferred_.empty()) {
    callback();
    return;
  }
  drainCallbacks_.push_back(std::move(callback));
}

void StreamConnection::loseConnection() {
  if (disconnecting_ || closing()) return;
  disconnecting_ = true;
  uv_read_stop(stream());
  if (pendingWrites_ == 0 && deferred_.empty() && !hasHeld()) closeCleanly();  // else once the held write is sent
}

void StreamConnection::stopRequested() noexcept {
  if (!made_ || !readable() || std::exchange(stopRequested_, true)) return;
  guarded("stopRequested", [this] { protocol_->stopRequested(); });
}

void StreamConnection::stopDeadline() noexcept {
  if (!stopRequested_ || !readable() || std::exchange(stopDeadline_, true)) return;
  guarded("stopDeadline", [this] { protocol_->stopDeadline(); });
}

void StreamConnection::loseWriteConnection() {
  if (!writable()) return;
  releaseHeld();
  writeClosed_ = true;
  startReading();  // from connectionMade it has not started yet: without it the peer's close would go unnoticed
  shutdownWhenSent();
}

// Shuts down the sending side once everything queued (uv_writes and deferred file ranges) has gone out.
void StreamConnection::shutdownWhenSent() {
  if (!writeClosed_ || shutdownStarted_ || closing() || disconnecting_ || pendingWrites_ != 0 || !deferred_.empty())
    return;
  shutdownStarted_ = true;
  const int status = uv_shutdown(&shutdown_, stream(), &StreamConnection::onShutdown);
  if (status != 0) closeWithStatus("shutdown", status);
}

void StreamConnection::onShutdown(uv_shutdown_t* request, int status) noexcept {
  if (status == 0 || status == UV_ECANCELED) return;  // cancelled: the connection is closing anyway
  fromHandle(request->handle).closeWithStatus("shutdown", status);
}

void StreamConnection::abortConnection() {
  closeWith(false, "Connection was aborted locally using abortConnection().");
}

Address StreamConnection::getPeer() const { return peer_; }

Address StreamConnection::getHost() const {
  return fd_ >= 0 ? localAddress(fd_) : set_->local();
}

std::size_t StreamConnection::bufferedBytes() const {
  const std::size_t held = heldShared_ ? heldShared_->size() : heldCopy_.size();
  return handle_.tcp.write_queue_size + static_cast<std::size_t>(deferredBytes_) + held;
}

bool StreamConnection::connected() const { return writable(); }

void StreamConnection::closeWith(bool clean, std::string message) noexcept {
  if (closing()) return;
  try {
    reason_ = DisconnectReason{clean, std::move(message)};
  } catch (const std::bad_alloc&) {
    reason_.reset();  // onClose() supplies a reason without allocating much
  }
  close();
}

void StreamConnection::closeCleanly() noexcept {
  if (closing()) return;
  closedCleanly_ = true;
  close();
}

void StreamConnection::closeWithStatus(const char* what, int status) noexcept {
  if (closing()) return;
  try {
    closeWith(false, fmt::format("Connection to the other side was lost in a non-clean fashion: {} failed: {} ({}).",
                                 what, uv_strerror(status), uv_err_name(status)));
  } catch (const std::exception&) {
    closeWith(false, {});
  }
}

void StreamConnection::onClose() noexcept {
  if (!attached_ && fd_ >= 0) ::close(fd_);  // libuv never had it; uv_close closes attached ones
  fd_ = -1;
  drainCallbacks_.clear();
  heldShared_.reset();
  heldCopy_.clear();
  deferred_.clear();  // drops the references to files and shared buffers
  deferredBytes_ = 0;
  if (watch_ != nullptr) {
    watch_->close();
    watch_ = nullptr;
  }
  if (reason_ || closedCleanly_) return;
  runGuarded("close", [this] { reason_ = DisconnectReason{false, "The event loop closed the connection."}; });
  if (!reason_) reason_.emplace();  // out of memory: a default reason, never a missing one
}

// The handle is closed: the protocol learns why, exactly once, then goes (before the connection leaves its set,
// whose emptying may complete a service's stop: by then no protocol of that service is left).
void StreamConnection::afterClose() noexcept {
  const DisconnectReason& reason = reason_ ? *reason_ : cleanReason();  // a clean close keeps no reason of its own
  if (made_) {
    guarded("connectionLost", [this, &reason] { protocol_->connectionLost(reason); });
    ProtocolAccess::detach(*protocol_);
  }
  protocol_.reset();
  if (!reason.clean) set_->metrics().errors.add();
  set_->remove(*this);
}

}  // namespace cppd::detail
