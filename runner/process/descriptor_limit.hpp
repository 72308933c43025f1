#pragma once

// The descriptor budget of a server: raised at start as nginx's worker_rlimit_nofile and Go's runtime do.

#include <sys/resource.h>

namespace cppd::runner {

/// Raises the soft RLIMIT_NOFILE to the hard limit and logs "file descriptor limit: N". Every connection, open
/// file and the log need a descriptor, while the soft limit a shell or service manager hands out (often 1024)
/// is a convention kept for select(2), which cppd never uses. An unlimited hard limit is capped at the kernel's
/// fs.nr_open, the most setrlimit accepts. When the raise fails the limit stays as it was and the log line says
/// why. Returns the soft limit in force afterwards. Never throws: a server can run with the limit it was given.
rlim_t raiseDescriptorLimit();

}  // namespace cppd::runner
