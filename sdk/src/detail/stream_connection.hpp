#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <list>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <cppd/address.hpp>
#include <cppd/protocol.hpp>
#include <cppd/shared_file.hpp>
#include <cppd/transport.hpp>

#include "detail/reactor_impl.hpp"

namespace cppd::detail {

class ConnectionSet;
class WritableWatch;

/// One TCP or UNIX connection, accepted or connected: the ITransport a Protocol sees. Created by an acceptor or a
/// connector; its libuv close callback tells the protocol connectionLost(reason), lets the protocol go, leaves
/// its ConnectionSet and deletes the connection.
///
/// Writes go straight to the kernel while nothing is queued; the rest is queued with uv_write, copying only what
/// write() was given (writeShared keeps a reference instead). The descriptor is handed to libuv only when a write
/// must be queued or reading starts, so a connection that is answered at once and closed costs no more system
/// calls than a hand-written epoll server. Loop thread only.
///
/// The first write of connectionMade on a connection libuv does not have yet (a copy of at most 16 KiB, or a
/// shared buffer of any size) is held until connectionMade returns; a second write, a file, whenDrained or a
/// half-close sends it first. When the protocol also asked to close, the held bytes go with MSG_MORE and the close
/// follows at once, so the kernel sends the FIN with their last segment (one packet less per connection, and one
/// wake-up less of the peer).
///
/// sendFile keeps the single ordered stream with a second queue, deferred_: once a file range is waiting (the
/// socket was full, or uv_writes were still queued), every later write goes to deferred_ too, and pump() sends
/// the queue in order whenever libuv's queue is empty: memory through the usual write path, files with
/// sendfile(2) straight from the page cache. Waiting for the socket to become writable uses a uv_poll_t on a
/// dup() of the socket (libuv allows one watcher per descriptor number, and the uv_tcp_t already has it).
class StreamConnection final : public LoopHandle, public ITransport {
 public:
  /// Takes over fd (closing it on failure) and runs the protocol's connectionMade.
  static void start(std::shared_ptr<ConnectionSet> connections, int fd, Address peer,
                    std::shared_ptr<Protocol> protocol);

  void write(std::string_view data) override;
  void writeShared(std::shared_ptr<const std::string> data) override;
  void writeSequence(const std::vector<std::string_view>& pieces) override;
  void loseConnection() override;
  void loseWriteConnection() override;
  void abortConnection() override;
  Address getPeer() const override;
  Address getHost() const override;
  std::size_t bufferedBytes() const override;
  void whenDrained(std::function<void()> callback) override;
  bool connected() const override;
  void sendFile(std::shared_ptr<const SharedFile> file, std::uint64_t offset, std::uint64_t length) override;
  void writeAndSendFile(std::string_view head, std::shared_ptr<const SharedFile> file, std::uint64_t offset,
                        std::uint64_t length) override;

  uv_handle_t* uvHandle() noexcept override { return reinterpret_cast<uv_handle_t*>(&handle_); }

  /// Tells the protocol stopRequested() (once), in the connection's log context, unless it is already closing.
  void stopRequested() noexcept;
  /// Tells the protocol stopDeadline() (once, after stopRequested), unless it is already closing.
  void stopDeadline() noexcept;

 private:
  friend class ConnectionSet;
  struct WriteRequest;
  // One piece of deferred output: bytes (owned or shared) or a file range.
  struct Deferred {
    std::string owned;
    std::shared_ptr<const std::string> shared;
    std::shared_ptr<const SharedFile> file;
    std::uint64_t offset = 0;     // files: the next byte to send
    std::uint64_t remaining = 0;  // bytes still to send
  };

  StreamConnection(std::shared_ptr<ConnectionSet> connections, Address peer, std::shared_ptr<Protocol> protocol);
  ~StreamConnection() override = default;

  uv_stream_t* stream() noexcept { return reinterpret_cast<uv_stream_t*>(&handle_); }
  bool readable() const noexcept { return !disconnecting_ && !closing(); }
  bool writable() const noexcept { return readable() && !writeClosed_; }
  void begin();
  void startReading();
  bool attach();
  std::size_t tryWrite(const uv_buf_t* buffers, unsigned count, std::size_t total, bool more = false);
  bool hasHeld() const noexcept { return heldShared_ != nullptr || !heldCopy_.empty(); }  // writes are never empty
  bool canHold() const noexcept { return holding_ && !hasHeld() && pendingWrites_ == 0 && deferred_.empty(); }
  void releaseHeld();
  void enqueue(WriteRequest* request, const char* data, std::size_t length);
  void writeNow(std::string_view data);
  void writeSharedNow(std::shared_ptr<const std::string> data);
  void defer(Deferred item);
  void pump();
  bool sendFromFile(Deferred& item);
  void waitWritable();
  void onWritable();
  void closeWith(bool clean, std::string message) noexcept;
  void closeCleanly() noexcept;
  void closeWithStatus(const char* what, int status) noexcept;
  void onClose() noexcept override;
  void afterClose() noexcept override;
  void drained();
  void shutdownWhenSent();
  template <typename Fn>
  void guarded(const char* what, Fn&& fn) noexcept;

  static void onAlloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buffer) noexcept;
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) noexcept;
  static void onWritten(uv_write_t* request, int status) noexcept;
  static void onShutdown(uv_shutdown_t* request, int status) noexcept;

  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  std::shared_ptr<ConnectionSet> set_;  // the connections it belongs to
  Address peer_;
  std::shared_ptr<Protocol> protocol_;
  // "PoetryProtocol,3,127.0.0.1": built for every connection, so kept inline (a heap string was one allocation
  // and free per connection); a longer one (a long protocol name, an IPv6 peer) goes to contextSpill_.
  std::array<char, 64> contextInline_{};
  std::string contextSpill_;
  std::string_view context_;  // in contextInline_ or contextSpill_
  std::vector<std::function<void()>> drainCallbacks_;
  std::list<Deferred> deferred_;       // output waiting behind a file range, in order (a list: an empty one
                                       // allocates nothing, and most connections never defer)
  std::uint64_t deferredBytes_ = 0;    // bytes in deferred_ not yet sent
  WritableWatch* watch_ = nullptr;     // created on the first full socket during a sendFile
  // connectionMade's one write while it runs (see the class comment): its bytes in heldCopy_ or heldShared_.
  std::string heldCopy_;
  std::shared_ptr<const std::string> heldShared_;
  bool holding_ = false;   // in connectionMade, before libuv has the descriptor
  std::optional<DisconnectReason> reason_;  // unset after closeCleanly(), which gives the shared clean reason
  bool closedCleanly_ = false;
  int fd_ = -1;             // the accepted socket; owned by libuv once attached_
  bool attached_ = false;   // fd_ has been given to the uv handle
  unsigned pendingWrites_ = 0;
  bool made_ = false;           // makeConnection ran, so connectionLost is owed
  bool disconnecting_ = false;  // loseConnection was called
  bool reading_ = false;        // uv_read_start succeeded
  bool writeClosed_ = false;    // loseWriteConnection was called: shut down sending once the output is sent
  bool shutdownStarted_ = false;
  bool stopRequested_ = false;  // the protocol was told stopRequested()
  bool stopDeadline_ = false;   // the protocol was told stopDeadline()
  uv_shutdown_t shutdown_{};
  StreamConnection* prev_ = nullptr;  // ConnectionSet's list
  StreamConnection* next_ = nullptr;
};

}  // namespace cppd::detail
