#pragma once

#include <sys/stat.h>

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <cppd/directory_jail.hpp>

namespace ftp {

/// One directory entry to list: its name and what stat() says about it (symlinks already followed).
struct ListEntry {
  std::string name;
  struct stat info {};
};

/// The next entry of a listing: fills entry and returns true, or returns false when there are no more. An entry
/// left with an empty name was examined and left out; the caller asks again (in a later piece if it wants), so
/// that no single call has to examine more than one directory entry.
using EntrySource = std::function<bool(ListEntry& entry)>;

/// The entries of the directory open as dirFd (read-only, opened beneath jail as virtualDir), without "." and
/// "..", read only as they are asked for and in the directory's own order (as `ls -f`): a listing of a directory
/// of a million entries holds no more memory than one of ten, and a client that reads slowly holds only a
/// directory handle. Entries are examined with fstatat on the directory; a symlink is resolved again beneath
/// the jail and left out when it leads outside or nowhere, so a listing never describes a file outside the root.
/// Names a control connection cannot carry (see sendableName) are left out. nullptr, and the errno value in
/// error, when the directory cannot be read. dirFd stays the caller's.
EntrySource readDirectory(std::shared_ptr<const cppd::DirectoryJail> jail, std::string virtualDir, int dirFd,
                          int& error);

/// A source of just entry (LIST of a single file).
EntrySource oneEntry(ListEntry entry);

/// False for a name containing CR or LF. The command parser ends a line at either (RFC 959's CR NUL is read as
/// a line end too), so no client can name such a file, and sending it would end a listing line or a reply early:
/// such names are never listed, in LIST, NLST, MLSD, MLST or STAT. Every other byte goes out as it is.
bool sendableName(std::string_view name) noexcept;

/// A pathname in a 257 reply (PWD, MKD), RFC 959 appendix II: in double quotes, embedded quotes doubled.
std::string quotedPath(std::string_view path);

/// An "ls -l" line without the line end: "-rw-r--r-- 1 ftp ftp 1404 Mar 01 12:34 name" (the year instead of
/// the time for entries older than six months or in the future), as LIST clients expect.
std::string listLine(const ListEntry& entry, std::time_t now);

/// RFC 3659 facts followed by a space and the name: "type=file;size=1404;modify=20240301123456;perm=r; name".
/// writable adds the write permissions an authenticated user has.
std::string mlsxLine(const ListEntry& entry, bool writable);

/// RFC 3659 time-val in UTC: "20240301123456".
std::string timeVal(std::time_t time);

}  // namespace ftp
