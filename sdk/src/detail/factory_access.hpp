#pragma once

#include <cppd/factory.hpp>

namespace cppd::detail {

/// The SDK's side door into Factory: the start/stop counting that ports and connectors do for their factory
/// (Twisted's doStart/doStop), which a protocol or plugin must not unbalance.
struct FactoryAccess {
  static void doStart(Factory& factory) { factory.doStart(); }
  static void doStop(Factory& factory) noexcept { factory.doStop(); }
};

}  // namespace cppd::detail
