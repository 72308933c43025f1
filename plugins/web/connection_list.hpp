#pragma once

#include <cstdint>

namespace web {

class HttpProtocol;
class ConnectionList;

/// A connection's place in one ConnectionList: the links, the list it is in (null when in none) and the tick at
/// which it entered.
struct ListHook {
  HttpProtocol* prev = nullptr;
  HttpProtocol* next = nullptr;
  ConnectionList* list = nullptr;
  std::uint64_t since = 0;
};

/// Connections in the order they started waiting for their client (an intrusive list: entering and leaving cost
/// a few pointer writes and no allocation, which matters because a connection enters and leaves once per
/// request). The factory keeps two, so that when --max-connections is reached it can close the connection that
/// has waited longest at once: an idle keep-alive one first, then one still sending its request.
///
/// Loop thread only. A connection is in at most one list at a time (push removes it from the other first).
class ConnectionList {
 public:
  ConnectionList() = default;
  ConnectionList(const ConnectionList&) = delete;
  ConnectionList& operator=(const ConnectionList&) = delete;

  /// Appends protocol, which entered at tick; a no-op when it is already in this list.
  void push(HttpProtocol* protocol, std::uint64_t tick);

  /// Takes protocol out of whichever list it is in; a no-op when it is in none.
  static void remove(HttpProtocol* protocol);

  /// The connection that has been in the list longest, or null.
  HttpProtocol* front() const noexcept { return head_; }

 private:
  HttpProtocol* head_ = nullptr;
  HttpProtocol* tail_ = nullptr;
};

}  // namespace web
