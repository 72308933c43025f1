#pragma once

// Reading a whole configuration file into memory, bounded: only a regular file (checked on the descriptor that
// is read, opened O_NONBLOCK so a FIFO cannot block the open), and never more than a size limit, so `-y
// /dev/zero` or a runaway file is a clear error instead of unbounded memory. open/read, no iostreams (whose first
// use builds the C++ locale and keeps several hundred KiB of libstdc++ resident in a server that never needed it).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cppd::runner {

/// The default limit for configuration files: 1 MiB.
inline constexpr std::size_t textFileLimit = std::size_t{1} << 20;

/// The contents of the file at path (symlinks followed: the operator names it). what names the file in errors
/// ("deployment file"). Throws cppd::Error naming what, the path and the reason: "read deployment file P: No
/// such file or directory" (kind from errno: 66 missing, 77 permission), "read deployment file /dev/zero: it is
/// a character device, not a regular file" (noInput, 66), "read deployment file P: it is larger than the limit
/// of 1048576 bytes (1 MiB)" (config, 78).
std::string readTextFile(const std::string& path, std::string_view what, std::size_t limit = textFileLimit);

/// The contents of the regular file open on fd, read from its start, or nullopt with errno set: EINVAL when
/// it is not a regular file, EFBIG when it is larger than limit (also when it grows past it while being read),
/// or the errno of the failed read. Does not close fd.
std::optional<std::string> readTextFile(int fd, std::size_t limit);

}  // namespace cppd::runner
