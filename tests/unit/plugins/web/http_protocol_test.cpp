// The web plugin's HttpProtocol driven through cppd::testing::StringTransport: every request stream is fed whole and one byte
// at a time, and must give the same answers.
#include "http_protocol.hpp"

#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/metrics.hpp>
#include <cppd/reactor.hpp>
#include <cppd/testing/string_transport.hpp>

#include "http_factory.hpp"
#include "unit/support/temp_dir.hpp"

using cppd::testing::StringTransport;

namespace {

// A document root in a fresh temporary directory, removed afterwards.
struct Root {
  Root() {
    std::ofstream(dir + "/hello.txt") << "hello, world\n";
    std::ofstream(dir + "/big.bin") << std::string(100000, 'z');
    ::mkdir((dir + "/docs").c_str(), 0755);
  }
  cppd::test::TempDir tmp;
  std::string dir = tmp.path();
};

// Feeds input whole (chunk 0) or in chunks of that many bytes, for as long as the connection reads (a half-closed
// one still does); returns what was written back. closed: the protocol ended the connection or half-closed it;
// halfClosed: it half-closed it (the lingering close after a refusal).
std::string exchange(const std::string& root, const std::string& input, std::size_t chunk, bool* closed = nullptr,
                     bool* halfClosed = nullptr) {
  cppd::Reactor reactor;
  web::WebConfig config;
  config.root = root;
  auto factory = std::make_shared<web::HttpFactory>(config, reactor);
  StringTransport transport(cppd::Address::ipv4("127.0.0.1", 40000), cppd::Address::ipv4("127.0.0.1", 8080));
  {
    auto protocol = std::make_shared<web::HttpProtocol>(factory);
    transport.connect(*protocol);
    transport.receive(input, chunk);
    transport.disconnect();
  }
  CHECK(factory->liveConnections() == 0);
  if (closed != nullptr) *closed = transport.disconnecting() || transport.writeClosed();
  if (halfClosed != nullptr) *halfClosed = transport.writeClosed() && !transport.disconnecting();
  return transport.value();
}

std::vector<std::string> statusLines(const std::string& output) {
  std::vector<std::string> lines;
  for (std::size_t at = output.find("HTTP/1.1 "); at != std::string::npos; at = output.find("HTTP/1.1 ", at + 1)) {
    lines.push_back(output.substr(at, output.find("\r\n", at) - at));
  }
  return lines;
}

}  // namespace

TEST_CASE("Pipelined requests are answered in order, whether fed whole or one byte at a time", "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u);
  const std::string input =
      "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
      "HEAD /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
      "GET /docs HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=7-11\r\n\r\n"
      "GET /%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n";
  bool closed = true;
  const std::string output = exchange(root.dir, input, chunk, &closed);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found",
                                                        "HTTP/1.1 405 Method Not Allowed",
                                                        "HTTP/1.1 301 Moved Permanently",
                                                        "HTTP/1.1 206 Partial Content", "HTTP/1.1 403 Forbidden"});
  CHECK(output.find("Content-Length: 100000\r\n") != std::string::npos);
  CHECK(output.find("zzz") == std::string::npos);  // HEAD: no body
  CHECK(output.find("\r\n\r\nworld") != std::string::npos);
  CHECK(output.find("Allow: GET, HEAD\r\n") != std::string::npos);
  CHECK(output.find("Location: /docs/\r\n") != std::string::npos);
  CHECK_FALSE(closed);
}

TEST_CASE("A malformed request is answered 400 with Connection: close and nothing after it is answered", "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u);
  bool closed = false;
  bool halfClosed = false;
  const std::string output =
      exchange(root.dir, "BLAH\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", chunk, &closed, &halfClosed);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 400 Bad Request"});
  CHECK(output.find("Connection: close\r\n") != std::string::npos);
  CHECK(closed);
  CHECK(halfClosed);  // lingering: the rest of the input is read and dropped, so no reset destroys the answer
}

TEST_CASE("An over-long target is 414 and an over-large header section 431, then the connection closes", "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u);
  bool closed = false;
  bool halfClosed = false;
  std::string output = exchange(root.dir, "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", chunk,
                                &closed, &halfClosed);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 414 URI Too Long"});
  CHECK(closed);
  CHECK(halfClosed);
  output = exchange(root.dir, "GET / HTTP/1.1\r\nHost: x\r\nX: " + std::string(20000, 'b') + "\r\n\r\n", chunk,
                    &closed, &halfClosed);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 431 Request Header Fields Too Large"});
  CHECK(closed);
  CHECK(halfClosed);
}

namespace {

std::uint64_t counted(const std::string& name, const std::string& code = {}) {
  for (const auto& r : cppd::detail::readMetrics()) {
    if (r.name == name && (code.empty() || (r.labels.size() == 1 && r.labels[0].second == code))) return r.count;
  }
  return 0;
}

}  // namespace

TEST_CASE("Answers are counted by status class, with the bytes of their bodies", "[web][metrics]") {
  Root root;
  const std::uint64_t ok = counted("web_requests_total", "2xx");
  const std::uint64_t missing = counted("web_requests_total", "4xx");
  const std::uint64_t bytes = counted("web_response_bytes_total");
  exchange(root.dir, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 0);
  CHECK(counted("web_requests_total", "2xx") == ok + 1);
  CHECK(counted("web_requests_total", "4xx") == missing + 1);
  CHECK(counted("web_response_bytes_total") > bytes + 13);  // hello.txt and the 404's page
}

TEST_CASE("HTTP/1.0 closes after the answer unless it asks for keep-alive", "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u);
  bool closed = false;
  std::string output = exchange(root.dir, "GET /hello.txt HTTP/1.0\r\n\r\n", chunk, &closed);
  CHECK(output.find("Connection: close\r\n") != std::string::npos);
  CHECK(closed);
  output = exchange(root.dir, "GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", chunk, &closed);
  CHECK(output.find("Connection: keep-alive\r\n") != std::string::npos);
  CHECK_FALSE(closed);
}

TEST_CASE("Conditional requests split across reads still answer 304", "[web]") {
  Root root;
  const std::string first = exchange(root.dir, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", 0);
  const std::size_t at = first.find("ETag: ") + 6;
  const std::string etag = first.substr(at, first.find("\r\n", at) - at);
  const std::size_t chunk = GENERATE(0u, 1u);
  const std::string output =
      exchange(root.dir, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + etag + "\r\n\r\n", chunk);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 304 Not Modified"});
}

TEST_CASE("A request whose framing RFC 9112 makes ambiguous is 400, and nothing after it is answered", "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u, 7u);
  const std::string next = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string request = GENERATE(as<std::string>{},
      // Whitespace before the colon: http_parser would take the length (or the chunking) from these.
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
      // A Host value that is not uri-host [":" port] (RFC 9112 3.2).
      "GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x:80x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: a@b\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
      // Obsolete line folding, after a value, after an empty value, and a first header line that begins with a space.
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\t b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-A:\r\n b\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n X-A: b\r\n\r\n",
      // A bare CR before the head's last byte: http_parser would take the byte after it for the LF.
      "GET / HTTP/1.1\r\nHost: x\r\n\rX",
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\rXY",
      "GET / HTTP/1.0\r\n\r\r");
  bool closed = false;
  const std::string output = exchange(root.dir, request + next, chunk, &closed);
  INFO(request);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 400 Bad Request"});
  CHECK(output.find("Connection: close\r\n") != std::string::npos);
  CHECK(closed);
}

TEST_CASE("A request line whose version is not HTTP/d.d is 400 when the line ends, with nothing more sent",
          "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u, 3u);
  // http_parser takes any four bytes after the H for "TTP/", line ends included: it waited for the version's
  // digits, and bytes sent later (the next request) would have become part of this one.
  const std::string request = GENERATE(as<std::string>{}, "GET //docs H\n\r\n", "GET / H\r\n\r\n",
                                       "GET / HXXP/1.1\r\nHost: x\r\n\r\n", "GET / HTTP\n1.1\r\n\r\n",
                                       "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", "GET / HTTP/1.0x\r\n\r\n");
  INFO(request);
  bool closed = false;
  const std::string output = exchange(root.dir, request, chunk, &closed);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 400 Bad Request"});
  CHECK(closed);
}

TEST_CASE("Host values of every valid form are accepted", "[web]") {
  Root root;
  const std::string host = GENERATE(as<std::string>{}, "", "example.com", "example.com:8080", "127.0.0.1:80",
                                    "[::1]", "[::1]:8080", "xn--bcher-kva.example", "a_b.c~d", "h:");
  INFO(host);
  bool closed = true;
  const std::string output = exchange(root.dir, "GET /hello.txt HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 0, &closed);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 200 OK"});
  CHECK_FALSE(closed);
}

TEST_CASE("Values with inner and trailing whitespace are still read", "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u, 5u);
  bool closed = true;
  const std::string output = exchange(root.dir,
                                      "GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-A: a  b \r\nX-B:   \r\n\r\n"
                                      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                                      "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                                      chunk, &closed);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 200 OK", "HTTP/1.1 405 Method Not Allowed",
                                                        "HTTP/1.1 200 OK"});
  CHECK_FALSE(closed);
}

// http_parser takes any two bytes for the CRLF after a chunk's data, anything after a space in a size line and
// a CR alone as a size line's end: what follows such a body is a request to it and body to a strict front end.
TEST_CASE("A chunked body is never read: its request is answered, the connection closes, nothing after it is "
          "answered",
          "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u, 7u);
  const std::string body = GENERATE(as<std::string>{}, "3\r\nabc\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n",
                                    "5\rXhello\r\n0\r\n\r\n", "1 zz\r\nx\r\n0\r\n\r\n",
                                    "0\r\nRange: bytes=0-0\r\nX: y\r\n\r\n");
  const std::string method = GENERATE(as<std::string>{}, "GET", "POST");
  INFO(method << " " << body);
  bool closed = false;
  bool halfClosed = false;
  const std::string output = exchange(root.dir,
                                      method + " /hello.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                          body + "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
                                      chunk, &closed, &halfClosed);
  CHECK(statusLines(output) ==
        std::vector<std::string>{method == "GET" ? "HTTP/1.1 200 OK" : "HTTP/1.1 405 Method Not Allowed"});
  CHECK(output.find("Connection: close\r\n") != std::string::npos);
  CHECK(halfClosed);
}

TEST_CASE("If-Modified-Since in all three HTTP-date forms answers 304; a date in the future is ignored", "[web]") {
  Root root;
  const std::size_t chunk = GENERATE(0u, 1u);
  const std::string since = GENERATE(as<std::string>{}, "Fri, 01 Jan 2038 00:00:00 GMT",
                                     "Friday, 01-Jan-38 00:00:00 GMT", "Fri Jan  1 00:00:00 2038");
  INFO(since);
  // hello.txt was written just now: a date after now is in the future, one before the file is older than it.
  std::string output =
      exchange(root.dir, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: " + since + "\r\n\r\n", chunk);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 200 OK"});
  ::utimes((root.dir + "/hello.txt").c_str(), nullptr);
  const timeval old[2] = {{946684800, 0}, {946684800, 0}};  // 2000-01-01
  ::utimes((root.dir + "/hello.txt").c_str(), old);
  const std::string past = GENERATE(as<std::string>{}, "Sat, 01 Jan 2005 00:00:00 GMT",
                                    "Saturday, 01-Jan-05 00:00:00 GMT", "Sat Jan  1 00:00:00 2005");
  output = exchange(root.dir, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nIf-Modified-Since: " + past + "\r\n\r\n", chunk);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 304 Not Modified"});
}

TEST_CASE("A redirect does not echo the client's raw bytes into the Location field", "[web]") {
  Root root;
  const std::string output = exchange(root.dir, "GET /docs?x=\xc2\x85y<z> HTTP/1.1\r\nHost: x\r\n\r\n", 0);
  CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 301 Moved Permanently"});
  CHECK(output.find("Location: /docs/?x=%C2%85y%3Cz%3E\r\n") != std::string::npos);
}

namespace {

// A connection that has answered one request, then is told the server stops, then receives input (whole, or in
// chunks of that many bytes); returns what it wrote after the stop, and whether it ended the connection.
std::string afterStop(const std::string& root, const std::string& input, std::size_t chunk, bool& closed) {
  cppd::Reactor reactor;
  web::WebConfig config;
  config.root = root;
  auto factory = std::make_shared<web::HttpFactory>(config, reactor);
  StringTransport transport(cppd::Address::ipv4("127.0.0.1", 40000), cppd::Address::ipv4("127.0.0.1", 8080));
  {
    auto protocol = std::make_shared<web::HttpProtocol>(factory);
    transport.connect(*protocol);
    transport.receive("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK(transport.value().find("Connection: close") == std::string::npos);
    transport.clear();
    protocol->stopRequested();
    CHECK_FALSE(transport.disconnecting());  // idle: it waits out the grace for a request already on its way
    transport.receive(input, chunk);
    closed = transport.disconnecting();
    transport.disconnect();
  }
  return transport.value();
}

}  // namespace

TEST_CASE("A stopping server answers every request already read, and only the last answer closes the connection",
          "[web]") {
  Root root;
  const std::string one = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string two = "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n";
  bool closed = false;
  SECTION("read in one piece: all are answered, the last with Connection: close") {
    const std::string output = afterStop(root.dir, one + two + one, 0, closed);
    CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found",
                                                           "HTTP/1.1 200 OK"});
    CHECK(output.find("Connection: close") == output.rfind("Connection: close"));
    CHECK(output.find("Connection: close") > output.rfind("HTTP/1.1 200 OK"));
    CHECK(closed);
  }
  SECTION("read one byte at a time: the first answered is the last read, and closes") {
    const std::string output = afterStop(root.dir, one + two, 1, closed);
    CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 200 OK"});
    CHECK(output.find("Connection: close") != std::string::npos);
    CHECK(closed);
  }
  SECTION("a body and part of the next request read with it: the answer keeps the connection for the rest") {
    const std::string post = "POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody";
    const std::string output = afterStop(root.dir, post + one.substr(0, 10), 0, closed);
    CHECK(statusLines(output) == std::vector<std::string>{"HTTP/1.1 405 Method Not Allowed"});
    CHECK(output.find("Connection: close") == std::string::npos);
    CHECK_FALSE(closed);
  }
}

TEST_CASE("A stopping server closes an idle keep-alive connection after --drain-grace", "[web]") {
  Root root;
  cppd::Reactor reactor;
  web::WebConfig config;
  config.root = root.dir;
  config.drainGrace = 0.02;
  auto factory = std::make_shared<web::HttpFactory>(config, reactor);
  StringTransport transport(cppd::Address::ipv4("127.0.0.1", 40000), cppd::Address::ipv4("127.0.0.1", 8080));
  {
    auto protocol = std::make_shared<web::HttpProtocol>(factory);
    transport.connect(*protocol);
    transport.receive("GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    protocol->stopRequested();
    CHECK_FALSE(transport.disconnecting());
    cppd::DelayedCall deadline = reactor.callLater(std::chrono::seconds(10), [&] { reactor.stop(); });
    cppd::DelayedCall poll;
    std::function<void()> check = [&] {
      if (transport.disconnecting()) return reactor.stop();
      poll = reactor.callLater(std::chrono::milliseconds(5), check);
    };
    check();
    reactor.run();
    deadline.cancel();
    poll.cancel();
    CHECK(transport.disconnecting());
    CHECK(transport.value().find("Connection: close") == std::string::npos);
    transport.disconnect();
  }
  CHECK(factory->liveConnections() == 0);
}
