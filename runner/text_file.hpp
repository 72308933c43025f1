#pragma once

// Reads a whole (small) file into memory with open/read: no iostreams, whose first use builds the C++ locale and
// keeps several hundred KiB of libstdc++ resident in a server that never needed it.

#include <optional>
#include <string>

namespace cppd::runner {

/// The file's contents, or nullopt with errno set (open or read failed). Retries EINTR; follows symlinks.
std::optional<std::string> readTextFile(const std::string& path);

}  // namespace cppd::runner
