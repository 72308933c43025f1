#include <cppd/protocol.hpp>

#include <stdexcept>

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

ITransport& Protocol::transport() const {
  if (transport_ == nullptr) throw std::logic_error(logPrefix() + " has no transport (not connected)");
  return *transport_;
}

std::string Protocol::logPrefix() const { return detail::shortTypeName(typeid(*this)); }

}  // namespace cppd
