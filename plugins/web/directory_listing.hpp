#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace web {

/// text with &, <, >, " and ' replaced by entities.
std::string htmlEscape(std::string_view text);

/// name percent-encoded for use as one path segment in an href (everything but unreserved characters).
std::string percentEncodeSegment(std::string_view name);

/// Whether the symlink called name in the listed directory leads to a directory, resolved beneath the served
/// root (so a link that leads out answers false and the listing cannot tell what exists outside).
using SymlinkIsDirectory = std::function<bool(const std::string& name)>;

/// An HTML page listing the directory open at dirFd (sorted; sub-directories end in '/'; names escaped and
/// links percent-encoded). Entries are examined without following symlinks; a symlink is asked about through
/// symlinkIsDirectory. title is the decoded URL path shown ("/docs/"). Returns false with errno set when the
/// directory cannot be read. Does not close dirFd.
bool renderListing(int dirFd, std::string_view title, const SymlinkIsDirectory& symlinkIsDirectory,
                   std::string& html);

}  // namespace web
