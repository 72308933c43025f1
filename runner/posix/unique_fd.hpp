#pragma once

// The runner's name for the SDK's owned descriptor (cppd/posix/unique_fd.hpp), kept so the runner's files that
// are not converted yet still compile; new code includes <cppd/posix/unique_fd.hpp> directly.

#include <cppd/posix/unique_fd.hpp>

namespace cppd::runner {

using posix::UniqueFd;

}  // namespace cppd::runner
