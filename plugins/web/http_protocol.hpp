#pragma once

#include <http_parser.h>

#include <cstdint>
#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include <cppd/protocol.hpp>
#include <cppd/reactor.hpp>

#include "byte_range.hpp"
#include "connection_list.hpp"
#include "file_cache.hpp"
#include "request_head.hpp"
#include "request_line_tail.hpp"

namespace web {

class HttpFactory;

/// One HTTP/1.x connection: http_parser turns the byte stream into requests, each answered in order as soon
/// as it is complete (pipelined requests included), from the factory's file cache.
///
/// - GET and HEAD; anything else is 405 with "Allow: GET, HEAD" (the body, if any, is read and dropped).
/// - Persistent connections follow http_should_keep_alive (HTTP/1.1 default, HTTP/1.0 with keep-alive,
///   "Connection: close"). A request with a chunked body is answered without reading the body, and the answer
///   closes the connection (see onHeadersComplete). A malformed request or one whose framing is ambiguous (400, see RequestHead), an
///   over-long target (414) or header section (431) is answered and the connection closed once it is sent.
/// - Responses of one read are gathered and written together. When more than kMaxBacklog bytes wait in the
///   transport, parsing pauses until they drain, so a client pipelining without reading holds bounded memory.
/// - Deadlines, checked by the factory's sweep (deadlinePassed): the whole head must arrive within the header
///   timeout (from the accept for a connection's first request, from the first byte for later ones), the body
///   within the body timeout of the head's end, the next request's first byte within the keep-alive timeout of
///   the previous answer having been sent, and output waiting to be sent must move within the send timeout.
/// - When the server stops (stopRequested), no client may send a request into a connection being closed under
///   it: the request in flight is finished and its answer says "Connection: close" (of pipelined requests
///   already read, the last one's does), and an idle connection stays open for a short grace (--drain-grace, at
///   most the keep-alive timeout), in which a request that arrives is answered the same way, before it closes:
///   a client that sent its next request just as the stop began gets an answer, not a reset (nginx's
///   keepalive_min_timeout, Envoy's drain-close).
///
/// Loop thread only (it is a Protocol).
class HttpProtocol final : public cppd::Protocol {
 public:
  static constexpr std::size_t kMaxBacklog = 1 << 20;
  static constexpr std::size_t kMaxPendingInput = 1 << 20;
  /// How long a refused request's connection keeps reading (and dropping) what the client still sends, after the
  /// refusal has been sent and the sending side shut down (nginx's lingering close; its lingering_timeout).
  static constexpr std::uint64_t kLingerTicks = 5;

  /// refused: the connection is over a limit; it is answered 503 with Retry-After before its request is read.
  enum class Admission { admitted, refused };

  explicit HttpProtocol(std::shared_ptr<HttpFactory> factory, std::string peerHost = {},
                        Admission admission = Admission::admitted);
  ~HttpProtocol() override;

  void connectionMade() override;
  void dataReceived(std::string_view data) override;
  void connectionLost(const cppd::DisconnectReason& reason) override;
  void stopRequested() override;
  std::string logPrefix() const override { return "HttpProtocol"; }

  /// True when one of the deadlines above (or the lingering time after a refusal) has passed at tick `now`.
  /// Called once a tick: it also notes whether the output waiting to be sent has moved since the last call.
  bool deadlinePassed(std::uint64_t now);

  /// Leaves the factory and closes the connection now (dropping output that is still waiting).
  void evict();

  /// The tick since which output has been waiting without moving (seen by the sweeps so far), or 0 when it has
  /// moved at the last sweep or none is waiting: the reader stopped reading, or reads too slowly to matter.
  std::uint64_t stalledSince(std::uint64_t now) const;

  bool refused() const noexcept { return admission_ == Admission::refused; }
  const std::string& peerHost() const noexcept { return peerHost_; }
  ListHook& hook() noexcept { return hook_; }

 private:
  // Where the connection is in its request/answer cycle, for the deadlines.
  enum class Phase { waiting, head, body, answering, idle };

  static int onMessageBegin(http_parser* parser);
  static int onUrl(http_parser* parser, const char* at, std::size_t length);
  static int onHeaderField(http_parser* parser, const char* at, std::size_t length);
  static int onHeaderValue(http_parser* parser, const char* at, std::size_t length);
  static int onHeadersComplete(http_parser* parser);
  static int onMessageComplete(http_parser* parser);
  static const http_parser_settings& settings();

  void feed(std::string_view data);
  std::size_t execute(std::string_view data);
  void resume();
  bool startsLine(const char* at) const;
  void enter(Phase phase);
  void idleWhenSent();
  bool answer(bool last);
  bool backlogged() const;
  void handleRequest();
  void closeIdleAfterGrace();
  void closeIfIdle();
  void serveLookup(const Lookup& found);
  void serveFile(const FileEntry& file);
  void respondSimple(int status, std::string_view extraHeaders, bool withBody);
  void beginResponse(int status);
  void endHeaders(std::uint64_t contentLength);
  void sendBody(const FileEntry& file, std::uint64_t offset, std::uint64_t length);
  void fail(int status, std::string_view extraHeaders = {});
  void linger();
  void logAccess(int status, std::uint64_t bytes);
  void flush();

  std::shared_ptr<HttpFactory> factory_;
  std::string peerHost_;
  Admission admission_;
  http_parser parser_{};
  RequestHead head_;
  RequestLineTail lineTail_;  // the request line after its target, which http_parser does not check
  int failure_ = 0;         // 400, 414 or 431, set by a callback that stopped the parser
  bool keepAlive_ = true;   // of the request being answered
  bool closing_ = false;    // a response said "Connection: close": nothing more is read or answered
  bool lingering_ = false;  // a refusal: half-closed, input dropped until the client closes
  bool headRequest_ = false;
  bool headEnded_ = false;  // onHeadersComplete paused the parser on the head's last byte
  bool bodyUnread_ = false; // a chunked body follows the head and is dropped: the answer closes the connection
  bool idleWatch_ = false;  // a whenDrained callback will mark the connection idle
  bool draining_ = false;   // the server is stopping: the last request read is answered with "Connection: close"
  bool answerPaused_ = false;  // draining: onMessageComplete paused the parser for feed to answer the request
  bool lastRead_ = false;   // draining: the request being answered is the last of the input read so far
  std::string out_;         // responses gathered during one dataReceived
  std::string pending_;     // input received while parsing is paused
  const char* chunkBegin_ = nullptr;  // the input being parsed, for looking back from a callback's data
  char carry_ = 0;                    // the last byte before chunkBegin_ that is not a space or a tab
  Phase phase_ = Phase::waiting;
  std::uint64_t phaseStart_ = 0;      // tick at which the phase (or the lingering) began
  std::uint64_t lingerTicks_ = kLingerTicks;
  std::size_t lastBuffered_ = 0;      // bufferedBytes() at the previous sweep
  std::uint64_t sendProgress_ = 0;    // tick at which the waiting output last moved
  ListHook hook_;
  cppd::DelayedCall grace_;  // draining: closes the connection if it is still idle
  std::time_t now_ = 0;
  std::chrono::steady_clock::time_point requestStart_{};  // for the access log's duration_ms
};

}  // namespace web
