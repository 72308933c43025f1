#include "http_protocol.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>
#include <utility>

#include <cppd/log.hpp>

#include "http_date.hpp"
#include "http_factory.hpp"
#include "http_response.hpp"
#include "request_path.hpp"
#include "web_metrics.hpp"

namespace web {
namespace {

HttpProtocol& self(http_parser* parser) { return *static_cast<HttpProtocol*>(parser->data); }

}  // namespace

HttpProtocol::HttpProtocol(std::shared_ptr<HttpFactory> factory, std::string peerHost, Admission admission)
    : factory_(std::move(factory)), peerHost_(std::move(peerHost)), admission_(admission) {
  http_parser_init(&parser_, HTTP_REQUEST);
  parser_.data = this;
}

HttpProtocol::~HttpProtocol() {
  grace_.cancel();
  ConnectionList::remove(this);
}

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
  if (factory_->config().accessLog) {
    if (peerHost_.empty()) peerHost_ = transport().getPeer().host();
    requestStart_ = std::chrono::steady_clock::now();
  }
  phaseStart_ = factory_->tick();
  sendProgress_ = phaseStart_;
  if (refused()) {
    // Answered before the request is read: the client reads the 503 whatever it sends, and the lingering close
    // lets it. A second is enough for a client that is already sending.
    now_ = std::time(nullptr);
    lingerTicks_ = 1;
    fail(503, "Retry-After: 1\r\n");
    return;
  }
  factory_->reading().push(this, phaseStart_);
}

void HttpProtocol::connectionLost(const cppd::DisconnectReason&) {
  grace_.cancel();
  factory_->remove(this);
}

void HttpProtocol::enter(Phase phase) {
  phase_ = phase;
  phaseStart_ = factory_->tick();
}

// After an answer, the connection is idle (and the keep-alive timeout runs) once the answer has been handed to
// the kernel; until then the send timeout watches it.
void HttpProtocol::idleWhenSent() {
  if (phase_ != Phase::answering || closing_ || idleWatch_ || !connected()) return;
  idleWatch_ = true;
  transport().whenDrained([this] {
    idleWatch_ = false;
    if (phase_ != Phase::answering || closing_) return;
    enter(Phase::idle);
    factory_->idle().push(this, phaseStart_);
    if (draining_) closeIdleAfterGrace();
  });
}

void HttpProtocol::dataReceived(std::string_view data) {
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
  idleWhenSent();
}

void HttpProtocol::feed(std::string_view data) {
  now_ = std::time(nullptr);
  std::size_t parsed = execute(data);
  while (HTTP_PARSER_ERRNO(&parser_) == HPE_PAUSED && (headEnded_ || answerPaused_)) {
    if (std::exchange(headEnded_, false)) {
      // Paused by onHeadersComplete on the byte that ended the head. http_parser takes any byte after the CR of
      // the empty line for its LF: a bare CR, which RFC 9112 2.2 makes invalid, and which would move where the
      // body and the next request begin by one byte.
      if (parsed >= data.size() || data[parsed] != '\n') {
        fail(400);
        return;
      }
    } else {
      // Paused by onMessageComplete while the server stops, just after the request's last byte: only here is it
      // known whether more input follows, and so whether this answer is the one that says "Connection: close".
      answerPaused_ = false;
      data.remove_prefix(std::min(parsed, data.size()));
      parsed = 0;
      if (!answer(data.empty())) return;
      if (backlogged()) break;  // stays paused: the rest waits in pending_ below
    }
    http_parser_pause(&parser_, 0);
    data.remove_prefix(parsed);
    if (data.empty()) return;  // an empty input would tell http_parser the stream has ended
    parsed = execute(data);
  }
  const auto error = HTTP_PARSER_ERRNO(&parser_);
  if ((error == HPE_OK && failure_ == 0) || closing_) return;
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

std::size_t HttpProtocol::execute(std::string_view data) {
  chunkBegin_ = data.data();
  lineTail_.chunkBegins(data);
  const std::size_t parsed = http_parser_execute(&parser_, &settings(), data.data(), data.size());
  if (failure_ == 0 && !lineTail_.read(data.data() + std::min(parsed, data.size()))) failure_ = 400;
  for (std::size_t i = std::min(parsed, data.size()); i > 0; --i) {
    if (data[i - 1] != ' ' && data[i - 1] != '\t') {
      carry_ = data[i - 1];
      break;
    }
  }
  return parsed;
}

void HttpProtocol::resume() {
  if (closing_ || !connected()) return;
  http_parser_pause(&parser_, 0);
  std::string input = std::move(pending_);
  pending_.clear();
  feed(input);
  flush();
  idleWhenSent();
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
  p.head_.clear();
  p.lineTail_.restart();
  if (p.factory_->config().accessLog) p.requestStart_ = std::chrono::steady_clock::now();
  // A connection's first request has had its header timeout running since the accept.
  if (p.phase_ != Phase::waiting) p.enter(Phase::head);
  p.phase_ = Phase::head;
  p.factory_->reading().push(&p, p.phaseStart_);
  return 0;
}

int HttpProtocol::onUrl(http_parser* parser, const char* at, std::size_t length) {
  HttpProtocol& p = self(parser);
  p.failure_ = p.head_.addUrl({at, length});
  p.lineTail_.targetEnds(at + length);
  return p.failure_ != 0 ? 1 : 0;
}

int HttpProtocol::onHeaderField(http_parser* parser, const char* at, std::size_t length) {
  HttpProtocol& p = self(parser);
  p.failure_ = p.lineTail_.read(at) ? p.head_.addField({at, length}) : 400;
  return p.failure_ != 0 ? 1 : 0;
}

// http_parser joins a folded line to the previous value without saying so, and drops the whitespace that begins
// it: a value piece is on a continuation line when only spaces and tabs stand between it and a line feed. (An
// empty value is reported as an empty piece just after its line's end, so empty pieces say nothing.)
bool HttpProtocol::startsLine(const char* at) const {
  const char* p = at;
  while (p > chunkBegin_ && (p[-1] == ' ' || p[-1] == '\t')) --p;
  return (p > chunkBegin_ ? p[-1] : carry_) == '\n';
}

int HttpProtocol::onHeaderValue(http_parser* parser, const char* at, std::size_t length) {
  HttpProtocol& p = self(parser);
  p.failure_ = p.head_.addValue({at, length}, length != 0 && p.startsLine(at));
  return p.failure_ != 0 ? 1 : 0;
}

int HttpProtocol::onHeadersComplete(http_parser* parser) {
  HttpProtocol& p = self(parser);
  const bool http10 = parser->http_major == 1 && parser->http_minor == 0;
  p.failure_ = p.lineTail_.readToLineEnd() ? p.head_.finish(http10) : 400;
  if (p.failure_ != 0) return -1;
  p.headEnded_ = true;  // feed checks the byte that ended the head
  http_parser_pause(parser, 1);
  // http_parser reads chunk lines leniently (any two bytes end a chunk's data, anything may follow a space in a
  // size line, a CR ends the line whatever follows): reading a chunked body would let a client make this server
  // see a request that a strict front end reads as body. No answer here needs a body, so a chunked one is never
  // read: the request ends with its head (1: skip the body), is answered, and the connection closes, lingering.
  p.bodyUnread_ = (parser->flags & F_CHUNKED) != 0;
  if (p.bodyUnread_) return 1;
  if (parser->content_length != 0 && parser->content_length != ULLONG_MAX) p.enter(Phase::body);
  return 0;
}

int HttpProtocol::onMessageComplete(http_parser* parser) {
  HttpProtocol& p = self(parser);
  if (p.draining_) {
    p.answerPaused_ = true;  // feed answers it, knowing whether it is the last request read
    http_parser_pause(parser, 1);
    return 0;
  }
  if (!p.answer(false)) return 1;  // stop: nothing after this request is answered
  if (p.backlogged()) http_parser_pause(parser, 1);
  return 0;
}

// Answers the request just parsed; last (only while draining) makes the answer close the connection. False when
// the answer closes it: nothing after this request is read.
bool HttpProtocol::answer(bool last) {
  ConnectionList::remove(this);
  enter(Phase::answering);
  lastRead_ = last;
  handleRequest();
  if (bodyUnread_ && closing_ && !lingering_) linger();  // the body still comes: drop it, then close
  return !closing_;
}

bool HttpProtocol::backlogged() const { return transport().bufferedBytes() + out_.size() > kMaxBacklog; }

void HttpProtocol::handleRequest() {
  const double timeout = factory_->config().keepAliveTimeout;
  // An Upgrade (or CONNECT) is not followed: the answer closes the connection instead.
  keepAlive_ =
      http_should_keep_alive(&parser_) != 0 && timeout > 0 && parser_.upgrade == 0 && !bodyUnread_ && !lastRead_;
  headRequest_ = parser_.method == HTTP_HEAD;
  if (parser_.http_major != 1) {
    fail(505);
    return;
  }
  if (parser_.http_minor >= 1 && !head_.hasHost()) {
    fail(400);  // RFC 9112 3.2: a 1.1 request without Host
    return;
  }
  if (parser_.method != HTTP_GET && parser_.method != HTTP_HEAD) {
    respondSimple(405, "Allow: GET, HEAD\r\n", true);
    return;
  }
  const RequestPath path = parseRequestPath(head_.url());
  switch (path.status) {
    case PathStatus::badRequest: fail(400); return;
    case PathStatus::forbidden: respondSimple(403, {}, true); return;
    case PathStatus::notFound: respondSimple(404, {}, true); return;
    case PathStatus::ok: break;
  }
  const Lookup found = factory_->files().lookup(path, now_);
  if (found.kind == Lookup::Kind::redirect) {
    respondSimple(301, "Location: " + redirectLocation(path) + "\r\n", true);
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
      cppd::log::error("cannot serve {}: {}", head_.url(), std::strerror(found.error));
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
  if (head_.notModified(file.etag, file.mtime, now_)) {
    beginResponse(304);
    out_.append("ETag: ").append(file.etag).append("\r\nLast-Modified: ").append(file.lastModified).append("\r\n");
    if (!keepAlive_) out_.append("Connection: close\r\n");
    out_.append("\r\n");
    closing_ = !keepAlive_;
    logAccess(304, 0);
    return;
  }
  ByteRange range;
  const std::string& ifRange = head_.ifRange();
  if (!head_.range().empty() && (ifRange.empty() || ifRange == file.etag || ifRange == file.lastModified)) {
    range = parseByteRange(head_.range(), file.size);
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
  // Not flush(): a closing connection must still take the file. One call, so the head leaves in the same
  // packets as the file's first bytes.
  transport().writeAndSendFile(out_, file.file, offset, length);
  out_.clear();
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
void HttpProtocol::fail(int status, std::string_view extraHeaders) {
  keepAlive_ = false;
  headRequest_ = false;
  respondSimple(status, extraHeaders, true);
  closing_ = true;
  linger();
  flush();
}

void HttpProtocol::linger() {
  lingering_ = true;
  enter(phase_);
  if (!refused()) factory_->idle().push(this, phaseStart_);  // the first to close when room is needed
}

// One structured event per answer: the text is the Common Log Format line, the fields carry the same facts
// typed (and the user agent and duration the line lacks) for a JSON log. Every value a client chose is escaped by
// the log formats, whatever it holds.
void HttpProtocol::logAccess(int status, std::uint64_t bytes) {
  WebMetrics::get().answered(status, bytes);
  if (!factory_->config().accessLog) return;
  const bool known = status != 400 && status != 414 && status != 431 && status != 503;
  const std::string_view method = known ? http_method_str(static_cast<http_method>(parser_.method)) : "-";
  const std::string_view path = known ? std::string_view(head_.url()) : "-";
  const std::string text = fmt::format("{} - - [{}] \"{} {} HTTP/{}.{}\" {} {}", peerHost_, formatCommonLogTime(now_),
                                       method, path, parser_.http_major, parser_.http_minor, status, bytes);
  const std::chrono::duration<double, std::milli> duration = std::chrono::steady_clock::now() - requestStart_;
  cppd::log::event(cppd::LogLevel::info, text,
                   {{"peer", peerHost_}, {"method", method}, {"path", path}, {"status", status}, {"bytes", bytes},
                    {"duration_ms", duration.count()}, {"user_agent", head_.userAgent()}});
}

}  // namespace web
