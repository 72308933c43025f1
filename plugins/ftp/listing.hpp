#pragma once

#include <sys/stat.h>

#include <ctime>
#include <string>
#include <vector>

#include "jail.hpp"

namespace ftp {

/// One directory entry to list: its name and what stat() says about it (symlinks already followed).
struct ListEntry {
  std::string name;
  struct stat info {};
};

/// The entries of the real directory dir, sorted by name, without "." and "..". Symlinks are followed when they
/// point inside the jail and left out when they point outside it or nowhere, so a listing never describes a
/// file outside the root. Returns the errno value in error when the directory cannot be read.
std::vector<ListEntry> readDirectory(const Jail& jail, const std::string& dir, int& error);

/// An "ls -l" line without the line end: "-rw-r--r-- 1 ftp ftp 1404 Mar 01 12:34 name" (the year instead of
/// the time for entries older than six months or in the future), as LIST clients expect.
std::string listLine(const ListEntry& entry, std::time_t now);

/// RFC 3659 facts followed by a space and the name: "type=file;size=1404;modify=20240301123456;perm=r; name".
/// writable adds the write permissions an authenticated user has.
std::string mlsxLine(const ListEntry& entry, bool writable);

/// RFC 3659 time-val in UTC: "20240301123456".
std::string timeVal(std::time_t time);

}  // namespace ftp
