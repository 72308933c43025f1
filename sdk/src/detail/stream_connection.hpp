#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <cppd/address.hpp>
#include <cppd/protocol.hpp>
#include <cppd/transport.hpp>

#include "detail/reactor_impl.hpp"

namespace cppd::detail {

class PortState;

/// One accepted TCP or UNIX connection: the ITransport a Protocol sees. Created by the listening port, it deletes
/// itself in its libuv close callback, after telling the protocol connectionLost(reason) and leaving the port.
///
/// Writes go straight to the kernel while nothing is queued; the rest is queued with uv_write, copying only what
/// write() was given (writeShared keeps a reference instead). The descriptor is handed to libuv only when a write
/// must be queued or reading starts, so a connection that is answered at once and closed costs no more system
/// calls than a hand-written epoll server. Loop thread only.
class StreamConnection final : public LoopHandle, public ITransport {
 public:
  /// Takes over fd (closing it on failure) and runs the protocol's connectionMade.
  static void start(std::shared_ptr<PortState> port, int fd, Address peer, std::shared_ptr<Protocol> protocol);

  void write(std::string_view data) override;
  void writeShared(std::shared_ptr<const std::string> data) override;
  void writeSequence(const std::vector<std::string_view>& pieces) override;
  void loseConnection() override;
  void abortConnection() override;
  Address getPeer() const override;
  Address getHost() const override;
  std::size_t bufferedBytes() const override;
  void whenDrained(std::function<void()> callback) override;
  bool connected() const override;

  uv_handle_t* uvHandle() noexcept override { return reinterpret_cast<uv_handle_t*>(&handle_); }

 private:
  friend class PortState;
  struct WriteRequest;

  StreamConnection(std::shared_ptr<PortState> port, Address peer, std::shared_ptr<Protocol> protocol);
  ~StreamConnection() override;

  uv_stream_t* stream() noexcept { return reinterpret_cast<uv_stream_t*>(&handle_); }
  bool writable() const noexcept { return !disconnecting_ && !closing(); }
  void begin();
  bool attach();
  std::size_t tryWrite(const uv_buf_t* buffers, unsigned count, std::size_t total);
  void enqueue(WriteRequest* request, const char* data, std::size_t length);
  void closeWith(bool clean, std::string message) noexcept;
  void closeWithStatus(const char* what, int status) noexcept;
  void onClose() noexcept override;
  void drained();
  template <typename Fn>
  void guarded(const char* what, Fn&& fn) noexcept;

  static void onAlloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buffer) noexcept;
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buffer) noexcept;
  static void onWritten(uv_write_t* request, int status) noexcept;

  union {
    uv_tcp_t tcp;
    uv_pipe_t pipe;
  } handle_;
  std::shared_ptr<PortState> port_;
  Address peer_;
  std::shared_ptr<Protocol> protocol_;
  std::string context_;  // "PoetryProtocol,3,127.0.0.1"
  std::vector<std::function<void()>> drainCallbacks_;
  std::optional<DisconnectReason> reason_;
  int fd_ = -1;             // the accepted socket; owned by libuv once attached_
  bool attached_ = false;   // fd_ has been given to the uv handle
  unsigned pendingWrites_ = 0;
  bool made_ = false;           // makeConnection ran, so connectionLost is owed
  bool disconnecting_ = false;  // loseConnection was called
  StreamConnection* prev_ = nullptr;  // PortState's list
  StreamConnection* next_ = nullptr;
};

}  // namespace cppd::detail
