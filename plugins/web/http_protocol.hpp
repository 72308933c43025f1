#pragma once

#include <http_parser.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include <cppd/protocol.hpp>

#include "byte_range.hpp"
#include "file_cache.hpp"

namespace web {

class HttpFactory;

/// One HTTP/1.x connection: http_parser turns the byte stream into requests, each answered in order as soon
/// as it is complete (pipelined requests included), from the factory's file cache.
///
/// - GET and HEAD; anything else is 405 with "Allow: GET, HEAD" (the body, if any, is read and dropped).
/// - Persistent connections follow http_should_keep_alive (HTTP/1.1 default, HTTP/1.0 with keep-alive,
///   "Connection: close"). A malformed request (400), an over-long target (414, over kMaxTarget bytes) or
///   header section (431, over kMaxHeaderBytes) is answered and the connection closed once it is sent.
/// - Responses of one read are gathered and written together. When more than kMaxBacklog bytes wait in the
///   transport, parsing pauses until they drain, so a client pipelining without reading holds bounded memory.
///
/// Loop thread only (it is a Protocol).
class HttpProtocol final : public cppd::Protocol {
 public:
  static constexpr std::size_t kMaxTarget = 8192;
  static constexpr std::size_t kMaxHeaderBytes = 16384;
  static constexpr std::size_t kMaxBacklog = 1 << 20;
  static constexpr std::size_t kMaxPendingInput = 1 << 20;
  /// How long a refused request's connection keeps reading (and dropping) what the client still sends, after the
  /// refusal has been sent and the sending side shut down (nginx's lingering close; its lingering_timeout).
  static constexpr std::uint64_t kLingerTicks = 5;

  explicit HttpProtocol(std::shared_ptr<HttpFactory> factory);
  ~HttpProtocol() override;

  void connectionMade() override;
  void dataReceived(std::string_view data) override;
  void connectionLost(const cppd::DisconnectReason& reason) override;
  std::string logPrefix() const override { return "HttpProtocol"; }

  /// True when the connection has had no input for timeout ticks and nothing is being sent to it.
  bool idleSince(std::uint64_t tick) const;

  /// True when the connection has lingered after a refusal for kLingerTicks by tick `now`: time to close it.
  bool lingerExpired(std::uint64_t now) const { return lingering_ && now >= lingerStart_ + kLingerTicks; }

 private:
  enum class Header { other, ifNoneMatch, ifModifiedSince, range, ifRange, host };

  static int onMessageBegin(http_parser* parser);
  static int onUrl(http_parser* parser, const char* at, std::size_t length);
  static int onHeaderField(http_parser* parser, const char* at, std::size_t length);
  static int onHeaderValue(http_parser* parser, const char* at, std::size_t length);
  static int onHeadersComplete(http_parser* parser);
  static int onMessageComplete(http_parser* parser);
  static const http_parser_settings& settings();

  void feed(std::string_view data);
  void resume();
  void commitHeader();
  bool countHeaderBytes(std::size_t length);
  void handleRequest();
  void serveLookup(const Lookup& found);
  void serveFile(const FileEntry& file);
  void respondSimple(int status, std::string_view extraHeaders, bool withBody);
  void beginResponse(int status);
  void endHeaders(std::uint64_t contentLength);
  void sendBody(const FileEntry& file, std::uint64_t offset, std::uint64_t length);
  void fail(int status);
  void logAccess(int status, std::uint64_t bytes);
  void flush();

  std::shared_ptr<HttpFactory> factory_;
  http_parser parser_{};
  std::string url_;
  std::string field_;
  std::string value_;
  bool inValue_ = false;
  Header current_ = Header::other;
  std::string ifNoneMatch_;
  std::string ifModifiedSince_;
  std::string range_;
  std::string ifRange_;
  bool hasHost_ = false;
  std::size_t headerBytes_ = 0;
  int failure_ = 0;         // 414 or 431, set by a callback that stopped the parser
  bool inMessage_ = false;  // between message begin and complete
  bool keepAlive_ = true;   // of the request being answered
  bool closing_ = false;    // a response said "Connection: close": nothing more is read or answered
  bool lingering_ = false;  // a refusal (400, 414, 431): half-closed, input dropped until the client closes
  std::uint64_t lingerStart_ = 0;
  bool headRequest_ = false;
  std::string out_;         // responses gathered during one dataReceived
  std::string pending_;     // input received while parsing is paused
  std::string peerHost_;    // for the access log
  std::uint64_t lastActive_ = 0;
  std::time_t now_ = 0;
};

}  // namespace web
