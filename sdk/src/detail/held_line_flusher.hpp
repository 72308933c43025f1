#pragma once

// The time bound of the log's batching: a loop iteration that logs and then blocks (a plugin stuck in a call)
// would otherwise keep its lines until the loop comes back.

namespace cppd::detail {

/// Called under the log's lock for every event logged inside a LogBatch while a buffering observer is attached:
/// makes sure log::flush() runs about every kLogHoldLimit while lines are being held. Starts the flushing thread
/// the first time (in each process); never throws (without a thread, held lines wait for the loop).
void noteHeldLine() noexcept;

/// pthread_atfork child handler: the child has no flushing thread, so it starts its own when it needs one.
void forgetHeldLineFlusherAfterFork() noexcept;

}  // namespace cppd::detail
