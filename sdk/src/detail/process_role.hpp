#pragma once

// What the networking code needs to know about the process it runs in (set by detail::becomeWorker).

#include <cstdint>

namespace cppd::detail {

/// Connections accepted by every port of this process (the acceptor counts; loop thread only).
extern std::uint64_t acceptedTotal;

/// A worker's --max-requests: once acceptedTotal reaches it, every port of the process stops accepting (what
/// waits in the queue is left to the other workers and the replacement) and acceptLimitReached runs, once.
extern std::uint64_t acceptLimit;
/// True (and the hook has run) when the limit is reached. Loop thread only.
bool acceptsExhausted() noexcept;

/// False in a worker: a UNIX socket file belongs to the supervisor, which keeps the socket open for its life, so
/// a worker closing its port must not remove the file other workers still serve.
extern bool ownsListenerPaths;

}  // namespace cppd::detail
