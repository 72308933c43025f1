#pragma once

// The reactor's side of the log's batching: what happens to held lines when the loop is about to wait for I/O.

namespace cppd::detail {

/// Called by the reactor before each wait for I/O. Lines held since the previous wait are written, together with
/// any held since; lines held only since this iteration began are left for the next one (or, if the loop stays
/// waiting, for the log's flush thread, within kLogHoldLimit). So the loop writes its log at most once per two
/// iterations, and no more than one iteration's lines are ever held while it waits. Never throws.
void flushBeforeWait() noexcept;

}  // namespace cppd::detail
