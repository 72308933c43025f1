#include <cppd/protocol.hpp>

#include <stdexcept>
#include <typeinfo>

#include "detail/protocol_access.hpp"
#include "detail/type_name.hpp"

namespace cppd {

Protocol::Protocol() = default;
Protocol::~Protocol() = default;

void Protocol::makeConnection(ITransport& transport) {
  transport_ = &transport;
  connectionMade();
}

void Protocol::connectionMade() {}

void Protocol::dataReceived(std::string_view) {}

void Protocol::connectionLost(const DisconnectReason&) {}

void Protocol::stopRequested() {
  if (connected()) transport().loseConnection();
}

void Protocol::stopDeadline() {}

ITransport& Protocol::transport() const {
  if (transport_ == nullptr) throw std::logic_error(logPrefix() + " has no transport (not connected)");
  return *transport_;
}

std::string Protocol::logPrefix() const {
  // The last type asked about on this thread: every connection asks once, almost always about the same protocol
  // type, and shortTypeName's names are never freed, so a pointer to one stays valid.
  thread_local const std::type_info* lastType = nullptr;
  thread_local const std::string* lastName = nullptr;
  const std::type_info& type = typeid(*this);
  if (&type != lastType) {
    lastName = &detail::shortTypeName(type);
    lastType = &type;
  }
  return *lastName;
}

}  // namespace cppd
