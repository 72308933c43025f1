#pragma once

#include <uv.h>

#include <chrono>
#include <memory>

#include <cppd/reactor.hpp>

#include "detail/listen_socket.hpp"
#include "detail/port_state.hpp"
#include "detail/reactor_impl.hpp"

namespace cppd::detail {

/// The accepting side of a port: polls the listening socket and accepts in bounded batches, handing each
/// connection to the factory. When accept fails for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS,
/// ENOMEM) it stops polling, logs once per episode, and retries after a delay that doubles up to a second, so
/// pending clients wait in the backlog instead of being dropped and the loop never spins.
///
/// libuv's own uv_listen cannot pause accepting, and its EMFILE fallback accepts and closes pending connections,
/// which is why this polls the socket itself. Owned by the loop: close() ends it and the close callback frees it.
class Acceptor final : public LoopHandle {
 public:
  /// Starts polling socket (taking ownership of its fd) on the reactor of state. Throws cppd::Error.
  static Acceptor* start(ListenSocket socket, std::shared_ptr<PortState> state);

  uv_handle_t* uvHandle() noexcept override { return reinterpret_cast<uv_handle_t*>(&poll_); }

 private:
  Acceptor(ListenSocket socket, std::shared_ptr<PortState> state);
  ~Acceptor() override;

  void onClose() noexcept override;
  static void onReadable(uv_poll_t* poll, int status, int events) noexcept;
  void acceptBatch();
  void handOver(int fd, Address peer);
  void pause(int error);
  void resume();

  uv_poll_t poll_{};
  ListenSocket socket_;
  std::shared_ptr<PortState> state_;
  DelayedCall retry_;
  std::chrono::milliseconds backoff_;
  bool pausedLogged_ = false;  // the current out-of-descriptors episode has been logged
};

}  // namespace cppd::detail
