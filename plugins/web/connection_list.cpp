#include "connection_list.hpp"

#include "http_protocol.hpp"

namespace web {

void ConnectionList::push(HttpProtocol* protocol, std::uint64_t tick) {
  ListHook& hook = protocol->hook();
  if (hook.list == this) return;
  remove(protocol);
  hook.list = this;
  hook.since = tick;
  hook.prev = tail_;
  hook.next = nullptr;
  if (tail_ != nullptr) {
    tail_->hook().next = protocol;
  } else {
    head_ = protocol;
  }
  tail_ = protocol;
}

void ConnectionList::remove(HttpProtocol* protocol) {
  ListHook& hook = protocol->hook();
  ConnectionList* list = hook.list;
  if (list == nullptr) return;
  if (hook.prev != nullptr) {
    hook.prev->hook().next = hook.next;
  } else {
    list->head_ = hook.next;
  }
  if (hook.next != nullptr) {
    hook.next->hook().prev = hook.prev;
  } else {
    list->tail_ = hook.prev;
  }
  hook = ListHook{};
}

}  // namespace web
