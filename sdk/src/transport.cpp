#include <cppd/transport.hpp>

namespace cppd {

ITransport::~ITransport() = default;

}  // namespace cppd
