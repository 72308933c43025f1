// The web plugin's HTTP/1.x protocol (plugins/web/http_protocol.* with its factory, file cache and document
// root) driven through a fake transport, as a client on the network drives it, against a document root in a
// scratch directory. Next to the root (never inside it) lie files that must never be served: secret.txt,
// outside/ (reached from the root by the symlinks escape -> ../outside, abs -> its absolute path, up -> ..) and
// rootx/ (whose path starts with the root's: a prefix-only check would let it in). Their content holds
// kSecret, and their names "outside-only".
//
// Input: byte 0 chooses the configuration: bit 0 turns directory listings off, bit 1 keep-alive off, bit 2 the
// access log on, bit 3 makes the fake transport report what it was written as unsent until the harness
// "drains" it after each chunk (so HttpProtocol's pause-for-backlog and resume run). Byte 1 is the chunk size
// for the split run (0: one byte at a time). The rest is what the client sends; it is fed once whole and once
// split.
//
// Checks: both runs write the same bytes (Date headers aside); the output is a sequence of well-formed
// responses (status line "HTTP/1.1 ddd Reason" with the reason of that code, "Name: value" header lines,
// Content-Length on all but 304, a body of that length unless it is a HEAD answer, Content-Range consistent
// with it on 206, a Location that stays on this server); kSecret and the outside names never appear; the
// connection count returns to zero. Against a strict reference reading of the input (strict_http_reading.hpp):
// no request is answered twice (never more answers than requests read strictly, plus one refusal of the request
// the strict reading stopped at), and a connection left open has answered exactly the requests the strict
// reading found, so cppd web never splits the stream differently (request smuggling) and never keeps reading
// after a framing error.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cppd/log.hpp>
#include <cppd/reactor.hpp>
#include <cppd/testing/string_transport.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fmt/format.h>
#include <functional>
#include <http_factory.hpp>
#include <http_protocol.hpp>
#include <http_response.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "fuzz_support.hpp"
#include "strict_http_reading.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSecret = "cppd fuzz secret: outside the document root";
constexpr std::time_t kFileTime = 978307200;  // 2001-01-01T00:00:00Z

// The peer read everything: callbacks waiting for that run (and may write and wait again).
void drain(cppd::testing::StringTransport& transport) {
  do {
    transport.peerReads();
  } while (transport.drainWaiters() != 0);
}

void checkNothingWrittenAfterClose(const cppd::testing::StringTransport& transport) {
  cppd::fuzz::check(transport.writtenAfterClose() == 0, "HttpProtocol wrote after closing the connection");
}

void writeFile(const std::string& path, std::string_view content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    cppd::fuzz::fail("create " + path + " failed");
  }
  ::close(fd);
}

void makeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) cppd::fuzz::fail("mkdir " + path + " failed");
}

// The document root and what lies around it, made once (nothing the protocol does writes files).
struct World {
  World() : scratch("root") {
    const std::string base = scratch.directory();
    root = base + "/root";
    const std::string secret = std::string(kSecret) + "\n";
    writeFile(base + "/secret.txt", secret);
    makeDirectory(base + "/outside");
    writeFile(base + "/outside/outside-only.txt", secret);
    writeFile(base + "/outside/index.html", secret);
    writeFile(base + "/outside/outside-only-big.bin", secret + std::string(70000, 'o') + secret);
    makeDirectory(base + "/rootx");
    writeFile(base + "/rootx/index.html", secret);
    writeFile(base + "/rootx/outside-only.txt", secret);

    makeDirectory(root);
    writeFile(root + "/hello.txt", "hello, world\n");
    writeFile(root + "/big.bin", std::string(70000, 'z'));  // over FileCache::kSmallFile: sent with sendFile
    writeFile(root + "/empty.txt", "");
    writeFile(root + "/name with spaces & <html>.txt", "spaces\n");
    makeDirectory(root + "/docs");
    writeFile(root + "/docs/a.txt", "a\n");
    makeDirectory(root + "/docs/sub");
    makeDirectory(root + "/site");
    writeFile(root + "/site/index.html", "<p>index</p>\n");
    ::mkfifo((root + "/fifo").c_str(), 0644);
    const std::pair<const char*, std::string> links[] = {
        {"escape", "../outside"}, {"abs", base + "/outside/outside-only.txt"}, {"absdir", base + "/outside"},
        {"prefix", "../rootx"},   {"up", ".."},                                 {"secret", "../secret.txt"},
        {"inner", "docs"},        {"inner.txt", "hello.txt"},                  {"dangling", "../outside/none"},
        {"loop", "loop"}};
    for (const auto& [name, target] : links) ::symlink(target.c_str(), (root + "/" + name).c_str());
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      const timespec times[2] = {{kFileTime, 0}, {kFileTime, 0}};
      ::utimensat(AT_FDCWD, entry.path().c_str(), times, AT_SYMLINK_NOFOLLOW);
    }
  }

  cppd::fuzz::ScratchFile scratch;
  std::string root;
  cppd::Reactor reactor;  // the factory's sweep timer would run on it; never started here
};

World& world() {
  static World instance;
  return instance;
}

class DiscardLog final : public cppd::ILogObserver {
 public:
  void observe(const cppd::LogEvent&) override {}
};

struct Run {
  std::string output;
  bool open = true;
};

Run exchange(const web::WebConfig& config, bool backpressure, std::string_view input, std::size_t chunk) {
  auto factory = std::make_shared<web::HttpFactory>(config, world().reactor);
  cppd::testing::StringTransport transport(cppd::Address::ipv4("192.0.2.1", 40000),
                                           cppd::Address::ipv4("127.0.0.1", 8080));
  if (backpressure) transport.stallPeer();  // everything written waits until the peer reads
  bool open = true;
  {
    auto protocol = std::make_shared<web::HttpProtocol>(factory);
    transport.connect(*protocol);
    checkNothingWrittenAfterClose(transport);
    if (chunk == 0) chunk = input.size();
    for (std::size_t at = 0; at < input.size() && transport.connected(); at += chunk) {
      transport.receive(input.substr(at, chunk));
      checkNothingWrittenAfterClose(transport);
      drain(transport);
      checkNothingWrittenAfterClose(transport);
    }
    open = transport.connected();
    transport.disconnect();
    checkNothingWrittenAfterClose(transport);
  }
  cppd::fuzz::check(factory->liveConnections() == 0, "a closed connection is still counted by the factory");
  return {transport.value(), open};
}

std::string withoutDates(std::string text) {
  for (std::size_t at = text.find("\r\nDate: "); at != std::string::npos; at = text.find("\r\nDate: ", at + 2)) {
    const std::size_t end = text.find("\r\n", at + 2);
    text.erase(at + 8, end == std::string::npos ? std::string::npos : end - (at + 8));
  }
  return text;
}

std::uint64_t parseNumber(std::string_view text, const std::string& what) {
  cppd::fuzz::check(!text.empty() && text.size() <= 19 && text.find_first_not_of("0123456789") == std::string_view::npos,
                    what + ": not a number: '" + std::string(text) + "'");
  return std::stoull(std::string(text));
}

// Walks the output response by response; returns how many there are.
std::size_t checkResponses(std::string_view output) {
  std::size_t count = 0;
  while (!output.empty()) {
    ++count;
    const std::size_t headEnd = output.find("\r\n\r\n");
    cppd::fuzz::check(headEnd != std::string_view::npos, "a response without the blank line ending its header");
    std::string_view head = output.substr(0, headEnd + 2);
    output.remove_prefix(headEnd + 4);
    const std::size_t lineEnd = head.find("\r\n");
    const std::string_view status = head.substr(0, lineEnd);
    head.remove_prefix(lineEnd + 2);
    cppd::fuzz::check(status.size() > 13 && status.substr(0, 9) == "HTTP/1.1 " && status[12] == ' ',
                      "malformed status line '" + std::string(status) + "'");
    const int code = static_cast<int>(parseNumber(status.substr(9, 3), "status code"));
    cppd::fuzz::check(status.substr(13) == web::reasonPhrase(code) && web::reasonPhrase(code) != "Unknown",
                      "status line '" + std::string(status) + "' has an unknown code or the wrong reason");

    std::optional<std::uint64_t> length;
    std::string_view contentRange;
    bool date = false;
    while (!head.empty()) {
      const std::size_t end = head.find("\r\n");
      const std::string_view line = head.substr(0, end);
      head.remove_prefix(end + 2);
      const std::size_t colon = line.find(": ");
      cppd::fuzz::check(colon != std::string_view::npos && colon > 0 &&
                            line.find_first_of("\r\n") == std::string_view::npos &&
                            line.substr(0, colon).find_first_of(" \t") == std::string_view::npos,
                        "malformed header line '" + std::string(line) + "' in a " + std::to_string(code));
      const std::string_view name = line.substr(0, colon);
      const std::string_view value = line.substr(colon + 2);
      if (name == "Content-Length") {
        cppd::fuzz::check(!length, "two Content-Length headers");
        length = parseNumber(value, "Content-Length");
      }
      if (name == "Content-Range") contentRange = value;
      if (name == "Location") {
        // A path on this server: "//host/..." (or "/\\host", which browsers read the same) would send the
        // client to another host (an open redirect).
        cppd::fuzz::check(value.size() >= 1 && value[0] == '/' && (value.size() < 2 || (value[1] != '/' && value[1] != '\\')),
                          "a redirect leaves this server: 'Location: " + std::string(value) + "'");
      }
      if (name == "Date") date = true;
    }
    cppd::fuzz::check(date, fmt::format("a {} without a Date header", code));
    cppd::fuzz::check(length.has_value() == (code != 304), fmt::format("a {} with{} Content-Length", code,
                                                                      length ? "" : "out"));
    if (code == 206) {
      const std::size_t dash = contentRange.find('-');
      const std::size_t slash = contentRange.find('/');
      cppd::fuzz::check(contentRange.substr(0, 6) == "bytes " && dash != std::string_view::npos &&
                            slash != std::string_view::npos && dash < slash,
                        "206 with the Content-Range '" + std::string(contentRange) + "'");
      const auto first = parseNumber(contentRange.substr(6, dash - 6), "Content-Range");
      const auto last = parseNumber(contentRange.substr(dash + 1, slash - dash - 1), "Content-Range");
      const auto total = parseNumber(contentRange.substr(slash + 1), "Content-Range");
      cppd::fuzz::check(first <= last && last < total && last - first + 1 == *length,
                        "206 with the Content-Range '" + std::string(contentRange) + "' and Content-Length " +
                            std::to_string(*length));
    }
    // No body: a HEAD answer (which the next status line, or the end, follows at once) or a 304.
    const bool bodyless = !length || *length == 0 || output.empty() || output.substr(0, 9) == "HTTP/1.1 ";
    if (!bodyless) {
      cppd::fuzz::check(output.size() >= *length, fmt::format("a {} announces {} body bytes, {} follow", code,
                                                               *length, output.size()));
      output.remove_prefix(*length);
    }
  }
  return count;
}

void checkAgainstStrictReading(const Run& run, std::size_t answers, std::string_view input) {
  using End = cppd::fuzz::StrictReading::End;
  const cppd::fuzz::StrictReading strict = cppd::fuzz::readStrictly(input);
  const std::size_t most = strict.complete + (strict.end == End::clean ? 0 : 1);
  const auto describe = [&] {
    return fmt::format("{} answers, connection {}; the strict reading has {} requests and ends {}:\n{}", answers,
                       run.open ? "open" : "closed", strict.complete, static_cast<int>(strict.end),
                       run.output.substr(0, 1500));
  };
  if (strict.end == End::unknown) {  // syntax the reference does not judge: only what it read is compared
    cppd::fuzz::check(!run.open || answers >= strict.complete, "requests left unanswered: " + describe());
    return;
  }
  cppd::fuzz::check(answers <= most, "more answers than requests: " + describe());
  if (!run.open) return;
  cppd::fuzz::check(strict.end != End::framingError && strict.end != End::lastRequest,
                    "the connection stays open after a framing error or a chunked body: " + describe());
  cppd::fuzz::check(answers == strict.complete,
                    "the requests were split differently from the strict reading: " + describe());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cppd::log::addObserver(std::make_shared<DiscardLog>());
  world();
  return 0;
}

// A request with several faults (a target over the length limit that also holds a byte the parser refuses) may
// be refused for either one: which fault is seen first depends on how the bytes arrive (http_parser reports a
// partial target at the end of each chunk, so the length limit trips before the bad byte is read). Both answers
// are right, so they count as the same when everything before the final refusal is identical and both close.
bool sameAnswers(const Run& whole, const Run& split) {
  const std::string a = withoutDates(whole.output);
  const std::string b = withoutDates(split.output);
  if (a == b && whole.open == split.open) return true;
  if (whole.open || split.open) return false;
  const std::size_t lastA = a.rfind("HTTP/1.1 ");
  const std::size_t lastB = b.rfind("HTTP/1.1 ");
  if (lastA == std::string::npos || lastB == std::string::npos || a.compare(0, lastA, b, 0, lastB) != 0) return false;
  auto refusal = [](const std::string& text, std::size_t at) {
    const std::string status = text.substr(at + 9, 3);
    return status == "400" || status == "414" || status == "431";
  };
  return refusal(a, lastA) && refusal(b, lastB);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  web::WebConfig config;
  config.root = world().root;
  config.listing = (data[0] & 1) == 0;
  config.keepAliveTimeout = (data[0] & 2) ? 0 : 60;
  config.accessLog = (data[0] & 4) != 0;
  const bool backpressure = (data[0] & 8) != 0;
  const std::size_t chunk = data[1] == 0 ? 1 : data[1];
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  const Run whole = exchange(config, backpressure, input, 0);
  const Run split = exchange(config, backpressure, input, chunk);

  for (const Run* run : {&whole, &split}) {
    if (run->output.find(kSecret) != std::string::npos) {
      cppd::fuzz::fail("a file outside the document root was served:\n" + run->output.substr(0, 2000));
    }
    if (run->output.find("\n<li><a href=\"outside-only") != std::string::npos) {
      cppd::fuzz::fail("a directory outside the document root was listed:\n" + run->output.substr(0, 2000));
    }
    checkAgainstStrictReading(*run, checkResponses(run->output), input);
  }
  if (!sameAnswers(whole, split)) {
    cppd::fuzz::fail(fmt::format("fed whole and in chunks of {}, the answers differ:\n--- whole ({}):\n{}\n--- split ({}):\n{}",
                                 chunk, whole.open ? "open" : "closed", whole.output.substr(0, 1500),
                                 split.open ? "open" : "closed", split.output.substr(0, 1500)));
  }
  return 0;
}
