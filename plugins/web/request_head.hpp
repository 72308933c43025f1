#pragma once

#include <cstddef>
#include <ctime>
#include <string>
#include <string_view>

namespace web {

/// The head of one request as http_parser reports it, piece by piece: the target, the header fields the server
/// acts on, and what RFC 9112 says must make a request's framing invalid but http_parser 2.9 accepts (it reads
/// "Content-Length : 5" as Content-Length, honours Transfer-Encoding in HTTP/1.0, joins folded lines and takes a
/// second Host). A request whose framing is invalid is answered with 400 and its connection closed, because
/// where its body ends (and so where the next request starts) is not known.
///
/// Loop thread only (owned by one HttpProtocol).
class RequestHead {
 public:
  static constexpr std::size_t kMaxTarget = 8192;
  static constexpr std::size_t kMaxHeaderBytes = 16384;

  /// Forgets the previous request.
  void clear();

  /// A piece of the request target. 0, or 414 when the target grows over kMaxTarget.
  int addUrl(std::string_view piece);

  /// A piece of a field name (a new field starts after a value). 0, 400 for whitespace in the name (RFC 9112 5.1:
  /// "No whitespace is allowed between the field name and colon"), or 431 over kMaxHeaderBytes.
  int addField(std::string_view piece);

  /// A piece of a field value. startsLine: the piece is the first on a line that began with whitespace (obsolete
  /// line folding, RFC 9112 5.2), which is 400. 0, 400 or 431.
  int addValue(std::string_view piece, bool startsLine);

  /// At the end of the head: 0, or 400 when the framing is invalid for a request of this HTTP version (a second
  /// Host, or a Host value that is not uri-host [":" port]; Transfer-Encoding in HTTP/1.0, together with Content-Length, or other than one "chunked").
  int finish(bool http10);

  /// True when the conditional headers say the client's copy (of a file with this ETag and modification time)
  /// is current at `now`: 304.
  bool notModified(std::string_view etag, std::time_t modified, std::time_t now) const;

  const std::string& url() const noexcept { return url_; }
  const std::string& range() const noexcept { return range_; }
  const std::string& ifRange() const noexcept { return ifRange_; }
  const std::string& userAgent() const noexcept { return userAgent_; }
  bool hasHost() const noexcept { return hosts_ > 0; }

 private:
  void commit();
  bool count(std::size_t length);

  std::string url_;
  std::string field_;
  std::string value_;
  bool inValue_ = false;
  std::string ifNoneMatch_;
  std::string ifModifiedSince_;
  std::string range_;
  std::string ifRange_;
  std::string userAgent_;
  int hosts_ = 0;
  bool invalidHost_ = false;  // a Host value that is not uri-host [":" port]
  int contentLengths_ = 0;
  int transferEncodings_ = 0;
  bool chunkedOnly_ = true;  // every Transfer-Encoding seen was exactly "chunked"
  std::size_t bytes_ = 0;
};

}  // namespace web
