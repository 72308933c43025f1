#pragma once

#include <cppd/protocol.hpp>

namespace cppd::detail {

/// The SDK's side door into Protocol: detaching the transport after connectionLost, which protocols must not do
/// themselves.
struct ProtocolAccess {
  static void detach(Protocol& protocol) noexcept { protocol.transport_ = nullptr; }
};

}  // namespace cppd::detail
