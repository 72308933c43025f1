#pragma once

#include <string>
#include <string_view>

namespace web {

/// What a request-target asks for, once checked against the jail rules.
enum class PathStatus {
  ok,          // relative names a path under the document root
  badRequest,  // not an origin-form or absolute-form target, or a malformed %XX escape (400)
  forbidden,   // a ".." segment, after percent-decoding (403)
  notFound,    // an encoded '/' (%2F) or a NUL byte (%00) inside a segment (404): no such name can exist
};

/// A request-target ("/a/b%20c.html?x=1") split and decoded.
struct RequestPath {
  PathStatus status = PathStatus::badRequest;
  /// Decoded segments joined by '/', without leading or trailing '/': "a/b c.html"; "" for the root. "." and
  /// empty segments are dropped. Only meaningful when status is ok.
  std::string relative;
  /// The path as sent, still encoded, without the query ("/a/b%20c.html"): redirects append '/' to it.
  std::string rawPath;
  /// The query with its '?', or empty.
  std::string query;
  /// True when the path ends with '/' (a directory is asked for).
  bool directory = false;
};

/// The path and query of a redirect to the directory `path` names (rawPath + "/" + query), for a Location field:
/// one leading '/' (a browser reads "//docs/" as the host "docs"), and every byte a URI may not hold (controls,
/// space, non-ASCII, and "<>\"\\^`{|}") percent-encoded, so no byte the client sent reaches the answer as it was.
std::string redirectLocation(const RequestPath& path);

/// Parses target (origin-form "/path?query" or absolute-form "http://host/path"). Pure; never throws except
/// std::bad_alloc.
RequestPath parseRequestPath(std::string_view target);

}  // namespace web
