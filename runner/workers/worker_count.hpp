#pragma once

// How many workers `--workers N|auto` asks for.

#include <string_view>

namespace cppd::runner {

inline constexpr unsigned kMaxWorkers = 1024;

/// "1".."1024", or "auto": the CPUs this process may run on (sched_getaffinity), lowered to the cgroup v2 CPU
/// quota (cpu.max of its cgroup and every parent) when one is set, at least 1. Throws cppd::UsageError naming
/// the value otherwise.
unsigned parseWorkerCount(std::string_view text);

/// The "auto" count (exposed for tests).
unsigned availableCpus();

}  // namespace cppd::runner
