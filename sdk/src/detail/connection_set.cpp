#include "detail/connection_set.hpp"

#include <utility>

#include "detail/reactor_impl.hpp"
#include "detail/stream_connection.hpp"

namespace cppd::detail {

ConnectionSet::ConnectionSet(Reactor& reactor, std::string contextPrefix, Address local)
    : reactor_(reactor), contextPrefix_(std::move(contextPrefix)), local_(std::move(local)) {}

void ConnectionSet::add(StreamConnection& connection) noexcept {
  connection.next_ = first_;
  if (first_ != nullptr) first_->prev_ = &connection;
  first_ = &connection;
  ++count_;
  metrics_.accepted.add();
  metrics_.active.add();
}

void ConnectionSet::remove(StreamConnection& connection) noexcept {
  if (connection.prev_ != nullptr) {
    connection.prev_->next_ = connection.next_;
  } else {
    first_ = connection.next_;
  }
  if (connection.next_ != nullptr) connection.next_->prev_ = connection.prev_;
  connection.prev_ = connection.next_ = nullptr;
  --count_;
  metrics_.active.sub();
  notifyIfEmpty();
}

// Safe to walk while the hooks run: closing only starts a close (connections leave the list in their close
// callbacks, later), and a connection that joins meanwhile goes in front of where the walk began.
void ConnectionSet::stopAll() noexcept {
  for (StreamConnection* connection = first_; connection != nullptr; connection = connection->next_) {
    connection->stopRequested();
  }
}

void ConnectionSet::stopDeadlineAll() noexcept {
  for (StreamConnection* connection = first_; connection != nullptr; connection = connection->next_) {
    connection->stopDeadline();
  }
}

void ConnectionSet::whenEmpty(std::function<void()> callback) noexcept {
  whenEmpty_ = std::move(callback);
  notifyIfEmpty();
}

void ConnectionSet::notifyIfEmpty() noexcept {
  if (count_ != 0 || !whenEmpty_) return;
  // Moved out first: the callback may release the last reference to whoever holds this set.
  std::function<void()> callback = std::exchange(whenEmpty_, nullptr);
  runGuarded("connections closed", callback);
}

}  // namespace cppd::detail
