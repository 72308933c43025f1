#include "request_head.hpp"

#include "header_text.hpp"
#include "http_date.hpp"

namespace web {
namespace {

// RFC 9110 13.1.2: If-None-Match uses the weak comparison; "*" matches any current representation.
bool etagMatches(std::string_view header, std::string_view etag) {
  std::size_t at = 0;
  while (at < header.size()) {
    std::size_t end = header.find(',', at);
    if (end == std::string_view::npos) end = header.size();
    std::string_view tag = header.substr(at, end - at);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag == "*") return true;
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    at = end + 1;
  }
  return false;
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 3986 unreserved, sub-delims and '%' (of pct-encoded; its hex digits are unreserved anyway): the bytes of a
// reg-name, and, with ':', of an IP literal between brackets.
bool isHostByte(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) ||
         std::string_view("-._~!$&'()*+,;=%").find(c) != std::string_view::npos;
}

// RFC 9112 3.2 / RFC 9110 7.2: Host = uri-host [ ":" port ]. Empty is valid (a target with an empty authority).
bool validHost(std::string_view host) {
  std::size_t at = 0;
  if (!host.empty() && host.front() == '[') {
    const std::size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!isHostByte(c) && c != ':') return false;
    }
    at = close + 1;
  } else {
    while (at < host.size() && isHostByte(host[at])) ++at;
  }
  if (at == host.size()) return true;
  if (host[at] != ':') return false;
  for (char c : host.substr(at + 1)) {
    if (!isDigit(c)) return false;
  }
  return true;
}

}  // namespace

void RequestHead::clear() {
  url_.clear();
  field_.clear();
  value_.clear();
  inValue_ = false;
  ifNoneMatch_.clear();
  ifModifiedSince_.clear();
  range_.clear();
  ifRange_.clear();
  userAgent_.clear();
  hosts_ = 0;
  invalidHost_ = false;
  contentLengths_ = 0;
  transferEncodings_ = 0;
  chunkedOnly_ = true;
  bytes_ = 0;
}

int RequestHead::addUrl(std::string_view piece) {
  if (url_.size() + piece.size() > kMaxTarget) return 414;
  url_.append(piece);
  return 0;
}

bool RequestHead::count(std::size_t length) {
  bytes_ += length;
  return bytes_ <= kMaxHeaderBytes;
}

int RequestHead::addField(std::string_view piece) {
  // ": " and CRLF of a new line count against the limit too.
  if (!count(piece.size() + (inValue_ || field_.empty() ? 4 : 0))) return 431;
  // http_parser (not built strict) takes a space as part of the name: "Content-Length " would be honoured.
  if (piece.find_first_of(" \t") != std::string_view::npos) return 400;
  if (inValue_) {
    commit();
    field_.clear();
    value_.clear();
    inValue_ = false;
  }
  field_.append(piece);
  return 0;
}

int RequestHead::addValue(std::string_view piece, bool startsLine) {
  if (!count(piece.size())) return 431;
  if (startsLine) return 400;
  inValue_ = true;
  value_.append(piece);
  return 0;
}

void RequestHead::commit() {
  if (equalsLower(field_, "host")) {
    ++hosts_;
    invalidHost_ = invalidHost_ || !validHost(trimmed(value_));
  } else if (equalsLower(field_, "content-length")) {
    ++contentLengths_;
  } else if (equalsLower(field_, "transfer-encoding")) {
    ++transferEncodings_;
    chunkedOnly_ = chunkedOnly_ && equalsLower(trimmed(value_), "chunked");
  } else if (equalsLower(field_, "if-none-match")) {
    ifNoneMatch_ = value_;
  } else if (equalsLower(field_, "if-modified-since")) {
    ifModifiedSince_ = value_;
  } else if (equalsLower(field_, "range")) {
    range_ = value_;
  } else if (equalsLower(field_, "if-range")) {
    ifRange_ = value_;
  } else if (equalsLower(field_, "user-agent")) {
    userAgent_ = value_;  // for the access log only
  }
}

int RequestHead::finish(bool http10) {
  if (inValue_) commit();
  inValue_ = false;
  if (hosts_ > 1 || invalidHost_) return 400;  // RFC 9112 3.2: more than one Host, or one that is not a host
  if (transferEncodings_ == 0) return 0;
  // RFC 9112 6.1: HTTP/1.0 has no Transfer-Encoding, and a request with both it and Content-Length is a
  // smuggling attempt until proven otherwise; the only coding this server can frame is a single "chunked".
  if (http10 || contentLengths_ > 0 || transferEncodings_ > 1 || !chunkedOnly_) return 400;
  return 0;
}

// Conditional requests (RFC 9110 13.2.2): If-None-Match wins over If-Modified-Since. A date in the future is
// not a valid validator (RFC 9110 13.1.3) and is ignored.
bool RequestHead::notModified(std::string_view etag, std::time_t modified, std::time_t now) const {
  if (!ifNoneMatch_.empty()) return etagMatches(ifNoneMatch_, etag);
  if (ifModifiedSince_.empty()) return false;
  const auto since = parseHttpDate(ifModifiedSince_);
  return since && *since <= now && modified <= *since;
}

}  // namespace web
