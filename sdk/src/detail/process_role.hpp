#pragma once

// What the networking code needs to know about the process it runs in (set by detail::becomeWorker).

#include <cstdint>

namespace cppd::detail {

/// Connections accepted by every port of this process (the acceptor counts; loop thread only).
extern std::uint64_t acceptedTotal;

/// False in a worker: a UNIX socket file belongs to the supervisor, which keeps the socket open for its life, so
/// a worker closing its port must not remove the file other workers still serve.
extern bool ownsListenerPaths;

}  // namespace cppd::detail
