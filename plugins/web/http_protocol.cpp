#include "http_protocol.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

#include <cppd/log.hpp>

#include "http_date.hpp"
#include "http_factory.hpp"
#include "http_response.hpp"
#include "request_path.hpp"

namespace web {
namespace {

HttpProtocol& self(http_parser* parser) { return *static_cast<HttpProtocol*>(parser->data); }

bool equalsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    if (c != lower[i]) return false;
  }
  return true;
}

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

}  // namespace

HttpProtocol::HttpProtocol(std::shared_ptr<HttpFactory> factory) : factory_(std::move(factory)) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

HttpProtocol::~HttpProtocol() = default;

const http_parser_settings& HttpProtocol::settings() {
  static const http_parser_settings kSettings = [] {
    http_parser_settings s{};
    s.on_message_begin = &HttpProtocol::onMessageBegin;
    s.on_url = &HttpProtocol::onUrl;
    s.on_header_field = &HttpProtocol::onHeaderField;
    s.on_header_value = &HttpProtocol::onHeaderValue;
    s.on_headers_complete = &HttpProtocol::onHeadersComplete;
    s.on_message_complete = &HttpProtocol::onMessageComplete;
    return s;
  }();
  return kSettings;
}

void HttpProtocol::connectionMade() {
  factory_->add(this);
  lastActive_ = factory_->tick();
  if (factory_->config().accessLog) peerHost_ = transport().getPeer().host();
}

void HttpProtocol::connectionLost(const cppd::DisconnectReason&) { factory_->remove(this); }

bool HttpProtocol::idleSince(std::uint64_t tick) const {
  if (lastActive_ > tick) return false;
  return connected() && transport().bufferedBytes() == 0;
}

void HttpProtocol::dataReceived(std::string_view data) {
  lastActive_ = factory_->tick();
  if (closing_) return;  // the answer that closes the connection is on its way; later input is dropped
  if (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED) {
    if (pending_.size() + data.size() > kMaxPendingInput) {
      cppd::log::warn("closing a connection that sent {} bytes of requests without reading the answers",
                      pending_.size() + data.size());
      transport().abortConnection();
      return;
    }
    pending_.append(data);
    return;
  }
  feed(data);
  flush();
}

void HttpProtocol::feed(std::string_view data) {
  now_ = std::time(nullptr);
  const std::size_t parsed = http_parser_execute(&parser_, &settings(), data.data(), data.size());
  const auto error = HTTP_PARSER_ERRNO(&parser_);
  if (error == HPE_OK || closing_) return;
  if (error == HPE_PAUSED) {
    pending_.assign(data.substr(std::min(parsed, data.size())));
    flush();
    transport().whenDrained([this] { resume(); });
    return;
  }
  if (failure_ != 0) {
    fail(failure_);
    return;
  }
  if (error == HPE_HEADER_OVERFLOW) {
    fail(431);
    return;
  }
  cppd::log::debug("bad request: {}", http_errno_description(error));
  fail(400);
}

void HttpProtocol::resume() {
  if (closing_ || !connected()) return;
  http_parser_pause(&parser_, 0);
  std::string input = std::move(pending_);
  pending_.clear();
  feed(input);
  flush();
}

// Writes the gathered responses; after one that said "Connection: close", closes once everything is sent.
void HttpProtocol::flush() {
  if (!connected()) return;
  if (!out_.empty()) {
    transport().write(out_);
    out_.clear();
  }
  if (!closing_) return;
  if (lingering_) {
    transport().loseWriteConnection();
  } else {
    transport().loseConnection();
  }
}

int HttpProtocol::onMessageBegin(http_parser* parser) {
  HttpProtocol& p = self(parser);
  p.url_.clear();
  p.field_.clear();
  p.value_.clear();
  p.inValue_ = false;
  p.ifNoneMatch_.clear();
  p.ifModifiedSince_.clear();
  p.range_.clear();
  p.ifRange_.clear();
  p.hasHost_ = false;
  p.headerBytes_ = 0;
  p.inMessage_ = true;
  return 0;
}

int HttpProtocol::onUrl(http_parser* parser, const char* at, std::size_t length) {
  HttpProtocol& p = self(parser);
  if (p.url_.size() + length > kMaxTarget) {
    p.failure_ = 414;
    return 1;
  }
  p.url_.append(at, length);
  return 0;
}

bool HttpProtocol::countHeaderBytes(std::size_t length) {
  headerBytes_ += length;
  if (headerBytes_ <= kMaxHeaderBytes) return true;
  failure_ = 431;
  return false;
}

int HttpProtocol::onHeaderField(http_parser* parser, const char* at, std::size_t length) {
  HttpProtocol& p = self(parser);
  if (!p.countHeaderBytes(length)) return 1;
  if (p.inValue_ || p.field_.empty()) {
    if (!p.countHeaderBytes(4)) return 1;  // ": " and CRLF of a new line count against the limit too
  }
  if (p.inValue_) {
    p.commitHeader();
    p.field_.clear();
    p.value_.clear();
    p.inValue_ = false;
  }
  p.field_.append(at, length);
  return 0;
}

int HttpProtocol::onHeaderValue(http_parser* parser, const char* at, std::size_t length) {
  HttpProtocol& p = self(parser);
  if (!p.countHeaderBytes(length)) return 1;
  p.inValue_ = true;
  p.value_.append(at, length);
  return 0;
}

void HttpProtocol::commitHeader() {
  if (equalsLower(field_, "host")) {
    hasHost_ = true;
  } else if (equalsLower(field_, "if-none-match")) {
    ifNoneMatch_ = value_;
  } else if (equalsLower(field_, "if-modified-since")) {
    ifModifiedSince_ = value_;
  } else if (equalsLower(field_, "range")) {
    range_ = value_;
  } else if (equalsLower(field_, "if-range")) {
    ifRange_ = value_;
  }
}

int HttpProtocol::onHeadersComplete(http_parser* parser) {
  HttpProtocol& p = self(parser);
  if (p.inValue_) p.commitHeader();
  p.inValue_ = false;
  return 0;
}

int HttpProtocol::onMessageComplete(http_parser* parser) {
  HttpProtocol& p = self(parser);
  p.inMessage_ = false;
  p.handleRequest();
  if (p.closing_) return 1;  // stop: nothing after this request is answered
  if (p.transport().bufferedBytes() + p.out_.size() > kMaxBacklog) http_parser_pause(parser, 1);
  return 0;
}

void HttpProtocol::handleRequest() {
  const double timeout = factory_->config().keepAliveTimeout;
  // An Upgrade (or CONNECT) is not followed: the answer closes the connection instead.
  keepAlive_ = http_should_keep_alive(&parser_) != 0 && timeout > 0 && parser_.upgrade == 0;
  headRequest_ = parser_.method == HTTP_HEAD;
  if (parser_.http_major != 1) {
    fail(505);
    return;
  }
  if (parser_.http_minor >= 1 && !hasHost_) {
    fail(400);  // RFC 9112 3.2: a 1.1 request without Host
    return;
  }
  if (parser_.method != HTTP_GET && parser_.method != HTTP_HEAD) {
    respondSimple(405, "Allow: GET, HEAD\r\n", true);
    return;
  }
  const RequestPath path = parseRequestPath(url_);
  switch (path.status) {
    case PathStatus::badRequest: fail(400); return;
    case PathStatus::forbidden: respondSimple(403, {}, true); return;
    case PathStatus::notFound: respondSimple(404, {}, true); return;
    case PathStatus::ok: break;
  }
  const Lookup found = factory_->files().lookup(path, now_);
  if (found.kind == Lookup::Kind::redirect) {
    // One leading '/': "GET //docs" must not redirect to "//docs/", which a browser reads as the host "docs".
    std::string_view raw = path.rawPath;
    while (raw.size() > 1 && raw[0] == '/' && raw[1] == '/') raw.remove_prefix(1);
    std::string location = "Location: " + std::string(raw) + "/" + path.query + "\r\n";
    respondSimple(301, location, true);
    return;
  }
  serveLookup(found);
}

void HttpProtocol::serveLookup(const Lookup& found) {
  switch (found.kind) {
    case Lookup::Kind::file: serveFile(*found.entry); return;
    case Lookup::Kind::notFound: respondSimple(404, {}, true); return;
    case Lookup::Kind::forbidden: respondSimple(403, {}, true); return;
    case Lookup::Kind::error:
      cppd::log::error("cannot serve {}: {}", url_, std::strerror(found.error));
      respondSimple(500, {}, true);
      return;
    case Lookup::Kind::redirect: return;  // handled by the caller
    case Lookup::Kind::listing: break;
  }
  beginResponse(200);
  out_.append("Content-Type: text/html; charset=utf-8\r\n");
  endHeaders(found.listing.size());
  if (!headRequest_) out_.append(found.listing);
  logAccess(200, headRequest_ ? 0 : found.listing.size());
}

void HttpProtocol::serveFile(const FileEntry& file) {
  // Conditional requests (RFC 9110 13.2.2): If-None-Match wins over If-Modified-Since.
  bool notModified = false;
  if (!ifNoneMatch_.empty()) {
    notModified = etagMatches(ifNoneMatch_, file.etag);
  } else if (!ifModifiedSince_.empty()) {
    const auto since = parseHttpDate(ifModifiedSince_);
    notModified = since && file.mtime <= *since;
  }
  if (notModified) {
    beginResponse(304);
    out_.append("ETag: ").append(file.etag).append("\r\nLast-Modified: ").append(file.lastModified).append("\r\n");
    if (!keepAlive_) out_.append("Connection: close\r\n");
    out_.append("\r\n");
    closing_ = !keepAlive_;
    logAccess(304, 0);
    return;
  }
  ByteRange range;
  if (!range_.empty() && (ifRange_.empty() || ifRange_ == file.etag || ifRange_ == file.lastModified)) {
    range = parseByteRange(range_, file.size);
  }
  if (range.kind == ByteRange::Kind::unsatisfiable) {
    respondSimple(416, "Content-Range: bytes */" + std::to_string(file.size) + "\r\n", true);
    return;
  }
  const bool partial = range.kind == ByteRange::Kind::satisfiable;
  const std::uint64_t offset = partial ? range.first : 0;
  const std::uint64_t length = partial ? range.length() : file.size;
  beginResponse(partial ? 206 : 200);
  out_.append(file.headers);
  if (partial) {
    out_.append("Content-Range: bytes ")
        .append(std::to_string(range.first))
        .append("-")
        .append(std::to_string(range.last))
        .append("/")
        .append(std::to_string(file.size))
        .append("\r\n");
  }
  endHeaders(length);
  if (!headRequest_) sendBody(file, offset, length);
  logAccess(partial ? 206 : 200, headRequest_ ? 0 : length);
}

void HttpProtocol::sendBody(const FileEntry& file, std::uint64_t offset, std::uint64_t length) {
  if (length == 0) return;
  if (file.body) {
    const std::string_view bytes = std::string_view(*file.body).substr(offset, length);
    if (bytes.size() <= 16 * 1024) {
      out_.append(bytes);  // one send for head and body; copying a few KiB costs less than a system call
      return;
    }
    transport().writeSequence({out_, bytes});
    out_.clear();
    return;
  }
  transport().write(out_);  // not flush(): a closing connection must still take the file
  out_.clear();
  transport().sendFile(file.file, offset, length);
}

void HttpProtocol::beginResponse(int status) { appendStatusLine(out_, status, factory_->date(now_)); }

void HttpProtocol::endHeaders(std::uint64_t contentLength) {
  appendNumberHeader(out_, "Content-Length", contentLength);
  if (!keepAlive_) {
    out_.append("Connection: close\r\n\r\n");
    closing_ = true;
  } else if (parser_.http_major == 1 && parser_.http_minor == 0) {
    out_.append("Connection: keep-alive\r\n\r\n");
  } else {
    out_.append("\r\n");
  }
}

void HttpProtocol::respondSimple(int status, std::string_view extraHeaders, bool withBody) {
  const std::string body = withBody ? errorBody(status) : std::string();
  beginResponse(status);
  out_.append(extraHeaders);
  if (!body.empty()) out_.append("Content-Type: text/html; charset=utf-8\r\n");
  endHeaders(body.size());
  if (!headRequest_) out_.append(body);
  logAccess(status, headRequest_ ? 0 : body.size());
}

// A request that cannot be answered normally: the answer says "Connection: close" and nothing after it is
// answered. The rest of the request may still be arriving (a 431 is sent as soon as the headers grow too large),
// and closing with unread input would make the kernel send a reset that can destroy the answer before the client
// reads it: so the connection half-closes once the answer is sent and drops what still comes, until the client
// closes or the factory's sweep ends it after kLingerTicks.
void HttpProtocol::fail(int status) {
  keepAlive_ = false;
  headRequest_ = false;
  respondSimple(status, {}, true);
  closing_ = true;
  lingering_ = true;
  lingerStart_ = factory_->tick();
  flush();
}

void HttpProtocol::logAccess(int status, std::uint64_t bytes) {
  if (!factory_->config().accessLog) return;
  const bool known = status != 400 && status != 414 && status != 431;
  cppd::log::info("{} - - [{}] \"{} {} HTTP/{}.{}\" {} {}", peerHost_, formatCommonLogTime(now_),
                  known ? http_method_str(static_cast<http_method>(parser_.method)) : "-", known ? url_ : "-",
                  parser_.http_major, parser_.http_minor, status, bytes);
}

}  // namespace web
