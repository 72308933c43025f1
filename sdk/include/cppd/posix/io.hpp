#pragma once

// Whole reads and writes on a descriptor: the loops every caller of read(2) and write(2) otherwise writes again
// (EINTR, short reads and writes, a bound on what a file may make us hold in memory).
//
// Errors come back as errno values (0: success), never as exceptions and never through errno, so a caller on the
// event loop can answer cheaply and a caller with a path throws cppd::systemError(operation, path, error).
// For blocking descriptors and regular files: a non-blocking pipe or socket that has nothing to give reports
// EAGAIN like any other error.

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include <cppd/export.hpp>

namespace cppd::posix {

/// Reads what fd holds, from offset 0 to its end, into out (replacing what out held), but never more than limit
/// bytes. A regular file is read with pread(2), so the descriptor's offset is left alone and a file opened by
/// someone else reads the same; a pipe or socket (ESPIPE) is read with read(2) from where it is. EINTR is
/// retried. Returns 0; EFBIG when there is more than limit bytes (out then holds the first limit bytes: a
/// caller that only wants a prefix takes them, one that wants all refuses the file); or the errno of the
/// failed read (out holds what came before it).
CPPD_API int readAll(int fd, std::string& out, std::size_t limit);

/// Writes all of data to fd at its current offset: EINTR is retried and a short write continues where it
/// stopped. Returns 0 or the errno of the failed write (how much was written before it is not reported: the
/// caller gives up on the file).
CPPD_API int writeAll(int fd, std::string_view data);

/// As writeAll, with pwrite(2) at offset (the descriptor's offset is left alone).
CPPD_API int writeAllAt(int fd, std::string_view data, off_t offset);

}  // namespace cppd::posix
