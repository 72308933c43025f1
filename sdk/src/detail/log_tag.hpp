#pragma once

// A tag the log puts into every line's system field (a worker's "w2"); set once, before the process logs from
// more than one thread.

#include <string>

namespace cppd::detail {

void setLogTag(std::string tag);

}  // namespace cppd::detail
