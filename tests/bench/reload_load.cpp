// The load of the reload proof (tests/bench/reload_bench, tests/stress reload_under_load): for a given time it keeps
// three kinds of clients busy against a cppd on loopback and records every request's outcome and latency with a
// timestamp, so that a reload that loses anything, or stalls, shows in the counts and in a timeline.
//   keep-alive: K connections sending "GET PATH" back to back to the web plugin; "Connection: close" in an answer
//               means reconnect (that is the server draining politely, not an error).
//   one-shot:   clients opening one connection per HTTP request.
//   poetry:     clients connecting to fastpoetry and reading to EOF; the bytes must be the poem file's, all of them.
// A failure is a connect error, a read error (a reset, EOF before the answer is whole), a write error, a request
// not finished within --timeout, a non-2xx answer, or a poem that is short or differs. Exit status 1 when any was
// seen, 0 otherwise; 64 for a usage error, 66 when the poem cannot be read. One thread, epoll, level-triggered.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <cxxopts.hpp>
#include <fmt/format.h>

#include "reload_load_report.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using reload_load::Kind;
using reload_load::Outcome;
using reload_load::Record;

constexpr std::size_t kMaxHead = 64 * 1024;
constexpr auto kBackoff = std::chrono::milliseconds(10);  // a failed client's pause, so a dead server is not spun on
constexpr auto kScanEvery = std::chrono::milliseconds(5);

// SIGINT or SIGTERM ends the run early, as its deadline does: a script that paces disruptions stops the load when
// the last one is done. The handler only sets this flag; the loop reads it.
volatile sig_atomic_t gStopRequested = 0;
void onStopSignal(int) { gStopRequested = 1; }

// The command line; the defaults are in parse()'s option table only.
struct Settings {
  int webPort = 0;
  int poetryPort = 0;
  std::string poemPath;
  std::string path;
  double seconds = 0;
  double timeout = 0;
  int keepAlive = 0;
  int oneShot = 0;
  int poetry = 0;
  int pauseMs = 0;  // one-shot and poetry clients wait this long between requests (caps their rate)
  int rampMs = 0;   // the clients' first connections spread over this long
  std::string recordsPath;
};

struct Client {
  Kind kind = Kind::keepAlive;
  int fd = -1;
  enum class Phase { waiting, connecting, sending, reading } phase = Phase::waiting;
  std::uint32_t interest = 0;  // the epoll events registered for fd
  Clock::time_point started;   // this request's start: its connect, or its write on a kept-alive connection
  Clock::time_point resumeAt;  // a waiting client starts its next request then
  std::size_t sent = 0;
  std::string head;            // the HTTP answer's head so far
  bool headDone = false, lengthKnown = false, closeAfter = false;
  int status = 0;
  std::size_t bodyWanted = 0, bodySeen = 0;
  std::size_t poemSeen = 0;
  bool poemDiffers = false;
};

Clock::duration seconds(double value) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(value));
}

std::string errnoText(int error) { return fmt::format("{} ({})", std::strerror(error), error); }

// The value of header `name` (lower case) in an HTTP head, or "" when absent; names compare case-insensitively.
std::string headerValue(const std::string& head, std::string_view name) {
  std::istringstream lines(head);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() <= name.size() || line[name.size()] != ':') continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(line[i])) == name[i];
    if (!same) continue;
    std::string value = line.substr(name.size() + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r") + 1);
    for (char& ch : value) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return value;
  }
  return {};
}

class LoadGenerator {
 public:
  LoadGenerator(const Settings& settings, std::string poem)
      : settings_(settings), poem_(std::move(poem)), epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (epoll_ < 0) throw std::runtime_error("epoll_create1: " + errnoText(errno));
    keepAliveRequest_ = fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", settings.path);
    oneShotRequest_ = fmt::format("GET {} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", settings.path);
    auto add = [this](Kind kind, int count) {
      for (int i = 0; i < count; ++i) {
        clients_.emplace_back();
        clients_.back().kind = kind;
      }
    };
    add(Kind::keepAlive, settings.keepAlive);
    add(Kind::oneShot, settings.oneShot);
    add(Kind::poetry, settings.poetry);
  }
  ~LoadGenerator() {
    for (Client& c : clients_)
      if (c.fd >= 0) ::close(c.fd);
    ::close(epoll_);
  }
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // Runs for settings.seconds (or until SIGINT/SIGTERM), then lets the requests in flight finish, each within its
  // own deadline.
  void run() {
    start_ = Clock::now();
    const auto end = start_ + seconds(settings_.seconds);
    // Clients arriving in the same millisecond are all accepted by whichever worker wakes first (one took 49 of 50
    // keep-alive connections); arriving over half a second, as real clients do, they spread somewhat (9 and 41
    // were seen; reload_bench --reuseport spreads them evenly). Each kind ramps up on its own, so that every kind
    // has started within the first bucket of the timeline.
    std::array<long, 3> count{}, seen{};
    for (const Client& c : clients_) ++count[static_cast<std::size_t>(c.kind)];
    for (Client& c : clients_) {
      const auto k = static_cast<std::size_t>(c.kind);
      c.resumeAt = start_ + std::chrono::milliseconds(settings_.rampMs) * seen[k]++ / count[k];
    }
    std::array<epoll_event, 256> events{};
    auto lastScan = start_;
    while (true) {
      const int n = ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 2);
      if (n < 0 && errno != EINTR) throw std::runtime_error("epoll_wait: " + errnoText(errno));
      for (int i = 0; i < n; ++i) {
        const epoll_event& event = events[static_cast<std::size_t>(i)];
        onEvent(clients_[event.data.u32], event.events);
      }
      const auto now = Clock::now();
      if (!stopping_ && (now >= end || gStopRequested != 0)) {
        stopping_ = true;
        elapsed_ = std::chrono::duration<double>(now - start_).count();
      }
      if (now - lastScan >= kScanEvery || stopping_) {
        lastScan = now;
        if (scan(now) == 0 && stopping_) break;
      }
    }
  }

  const std::deque<Record>& records() const { return records_; }
  const reload_load::ErrorDetails& details() const { return details_; }
  Clock::time_point startedAt() const { return start_; }
  double elapsedSeconds() const { return elapsed_; }  // until the load stopped (the deadline or a signal)

 private:
  // Starts a waiting client's next request (or leaves it waiting once the run is over).
  void begin(Client& c) {
    if (stopping_) return;
    const int port = c.kind == Kind::poetry ? settings_.poetryPort : settings_.webPort;
    c.started = Clock::now();
    c.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return finish(c, Outcome::connect, "socket: " + errnoText(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c.interest = 0;
    if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return onConnected(c);
    if (errno != EINPROGRESS) return finish(c, Outcome::connect, errnoText(errno));
    c.phase = Client::Phase::connecting;
    watch(c, EPOLLOUT);
  }

  void watch(Client& c, std::uint32_t events) {
    if (c.interest == events) return;
    epoll_event event{.events = events, .data = {.u32 = static_cast<std::uint32_t>(&c - clients_.data())}};
    const int op = c.interest == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (::epoll_ctl(epoll_, op, c.fd, &event) != 0) throw std::runtime_error("epoll_ctl: " + errnoText(errno));
    c.interest = events;
  }

  void onEvent(Client& c, std::uint32_t events) {
    if (c.phase == Client::Phase::connecting) {
      int error = 0;
      socklen_t size = sizeof error;
      if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
      if (error != 0) return finish(c, Outcome::connect, errnoText(error));
      if ((events & (EPOLLERR | EPOLLHUP)) != 0) return finish(c, Outcome::connect, "hang-up while connecting");
      return onConnected(c);
    }
    if (c.phase == Client::Phase::sending) return send(c);
    if (c.phase == Client::Phase::reading) return receive(c);
  }

  void onConnected(Client& c) {
    if (c.kind == Kind::poetry) {
      c.poemSeen = 0;
      c.poemDiffers = false;
      c.phase = Client::Phase::reading;
      return watch(c, EPOLLIN);
    }
    startRequest(c);
  }

  void startRequest(Client& c) {
    c.sent = 0;
    c.head.clear();
    c.headDone = c.lengthKnown = c.closeAfter = false;
    c.status = 0;
    c.bodyWanted = c.bodySeen = 0;
    c.phase = Client::Phase::sending;
    send(c);
  }

  void send(Client& c) {
    const std::string& request = c.kind == Kind::keepAlive ? keepAliveRequest_ : oneShotRequest_;
    const ssize_t n = ::send(c.fd, request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return watch(c, EPOLLOUT);
    if (n < 0) return finish(c, Outcome::write, errnoText(errno));
    c.sent += static_cast<std::size_t>(n);
    if (c.sent < request.size()) return watch(c, EPOLLOUT);
    c.phase = Client::Phase::reading;
    watch(c, EPOLLIN);
  }

  void receive(Client& c) {
    std::array<char, 64 * 1024> buffer;
    const ssize_t n = ::recv(c.fd, buffer.data(), buffer.size(), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) return finish(c, Outcome::read, errnoText(errno));
    if (n == 0) return c.kind == Kind::poetry ? poemEnded(c) : httpEnded(c);
    const auto size = static_cast<std::size_t>(n);
    if (c.kind == Kind::poetry) return poemBytes(c, buffer.data(), size);
    httpBytes(c, buffer.data(), size);
  }

  void poemBytes(Client& c, const char* data, std::size_t size) {
    if (c.poemSeen + size > poem_.size() || std::memcmp(poem_.data() + c.poemSeen, data, size) != 0)
      c.poemDiffers = true;
    c.poemSeen += size;
  }

  void poemEnded(Client& c) {
    if (c.poemDiffers) return finish(c, Outcome::shortPoem, "bytes differ from the poem file");
    if (c.poemSeen < poem_.size()) return finish(c, Outcome::shortPoem, "EOF before the end of the poem");
    finish(c, Outcome::ok);
  }

  void httpBytes(Client& c, const char* data, std::size_t size) {
    if (c.headDone) {
      c.bodySeen += size;
    } else {
      c.head.append(data, size);
      const auto end = c.head.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (c.head.size() > kMaxHead) finish(c, Outcome::read, "answer head over 64 KiB");
        return;
      }
      c.bodySeen = c.head.size() - (end + 4);
      c.head.resize(end + 2);
      if (!parseHead(c)) return finish(c, Outcome::read, "not an HTTP answer");
    }
    if (!c.lengthKnown || c.bodySeen < c.bodyWanted) return;
    if (c.bodySeen > c.bodyWanted) return finish(c, Outcome::read, "bytes after the answer");
    answered(c);
  }

  bool parseHead(Client& c) {
    c.headDone = true;
    if (c.head.compare(0, 7, "HTTP/1.") != 0 || c.head.size() < 12) return false;
    c.status = std::atoi(c.head.c_str() + 9);
    const std::string length = headerValue(c.head, "content-length");
    c.lengthKnown = !length.empty();
    c.bodyWanted = c.lengthKnown ? std::stoull(length) : 0;
    c.closeAfter = headerValue(c.head, "connection") == "close" || c.head.compare(0, 8, "HTTP/1.0") == 0;
    return true;
  }

  void httpEnded(Client& c) {
    if (c.headDone && !c.lengthKnown) return answered(c);  // an answer delimited by the close
    if (c.headDone) return finish(c, Outcome::read, "EOF in the middle of the body");
    finish(c, Outcome::read, c.head.empty() ? "EOF before any byte of the answer" : "EOF in the answer head");
  }

  void answered(Client& c) {
    if (c.status < 200 || c.status > 299) return finish(c, Outcome::non2xx, fmt::format("status {}", c.status));
    finish(c, Outcome::ok);
  }

  // Records the request; then the client goes on: the next request on a kept-alive connection at once, or a new
  // connection (at once, after --pause-ms, or after a back-off when this one failed).
  void finish(Client& c, Outcome outcome, std::string_view detail = {}) {
    const auto now = Clock::now();
    using std::chrono::duration_cast;
    using us = std::chrono::microseconds;
    records_.push_back(Record{
        .startMs = static_cast<std::uint32_t>(duration_cast<std::chrono::milliseconds>(c.started - start_).count()),
        .latencyUs = static_cast<std::uint32_t>(duration_cast<us>(now - c.started).count()),
        .kind = c.kind,
        .outcome = outcome});
    if (outcome != Outcome::ok) ++details_[{c.kind, outcome, std::string(detail)}];
    if (outcome == Outcome::ok && c.kind == Kind::keepAlive && !c.closeAfter && !stopping_) {
      c.started = now;
      return startRequest(c);
    }
    if (c.fd >= 0) ::close(c.fd);  // closing removes it from the epoll set
    c.fd = -1;
    c.phase = Client::Phase::waiting;
    const auto pause = c.kind == Kind::keepAlive ? std::chrono::milliseconds(0)
                                                 : std::chrono::milliseconds(settings_.pauseMs);
    c.resumeAt = now + (outcome == Outcome::ok ? pause : kBackoff);
    if (c.resumeAt <= now) begin(c);
  }

  // Times out the requests past their deadline and starts the clients whose pause is over; returns how many
  // clients still have a request in flight.
  std::size_t scan(Clock::time_point now) {
    const auto limit = seconds(settings_.timeout);
    std::size_t busy = 0;
    for (Client& c : clients_) {
      if (c.phase == Client::Phase::waiting) {
        if (now >= c.resumeAt) begin(c);
      } else if (now - c.started > limit) {
        finish(c, Outcome::timeout, c.phase == Client::Phase::connecting ? "connect not done in time"
                                    : c.phase == Client::Phase::sending  ? "request not sent in time"
                                                                         : "answer not whole in time");
      }
      busy += c.phase != Client::Phase::waiting ? 1 : 0;
    }
    return busy;
  }

  Settings settings_;
  std::string poem_;
  int epoll_;
  std::string keepAliveRequest_, oneShotRequest_;
  std::vector<Client> clients_;  // never resized after construction: epoll events carry indexes into it
  Clock::time_point start_;
  bool stopping_ = false;
  double elapsed_ = 0;
  std::deque<Record> records_;
  reload_load::ErrorDetails details_;
};

Settings parse(int argc, char** argv) {
  cxxopts::Options options("reload_load", "Keep-alive, one-shot HTTP and poetry load on loopback; counts failures.");
  Settings s;
  auto given = [](auto& field, const char* fallback) { return cxxopts::value(field)->default_value(fallback); };
  options.add_options()
      ("web-port", "the web plugin's port on 127.0.0.1", cxxopts::value(s.webPort))
      ("poetry-port", "fastpoetry's port on 127.0.0.1", cxxopts::value(s.poetryPort))
      ("poem", "the poem file fastpoetry serves (what every reader must receive)", cxxopts::value(s.poemPath))
      ("path", "the HTTP path requested", given(s.path, "/"))
      ("seconds", "how long to run", given(s.seconds, "10"))
      ("timeout", "a request's deadline in seconds (a timeout error after it)", given(s.timeout, "5"))
      ("keepalive", "keep-alive HTTP connections", given(s.keepAlive, "200"))
      ("oneshot", "HTTP clients opening one connection per request", given(s.oneShot, "8"))
      ("poetry", "poetry clients (one connection per poem)", given(s.poetry, "8"))
      ("pause-ms", "one-shot and poetry clients' pause between requests", given(s.pauseMs, "0"))
      ("ramp-ms", "spread the clients' first connections over this long", given(s.rampMs, "500"))
      ("records", "write every request (start_ms,latency_us,kind,outcome) as CSV to this file",
       cxxopts::value(s.recordsPath))
      ("h,help", "this help");
  const auto result = options.parse(argc, argv);
  if (result.count("help")) {
    fmt::print("{}", options.help());
    std::exit(0);
  }
  auto bad = [](const std::string& what) { throw cxxopts::exceptions::exception(what); };
  if (s.keepAlive < 0 || s.oneShot < 0 || s.poetry < 0 || s.keepAlive + s.oneShot + s.poetry == 0)
    bad("--keepalive, --oneshot and --poetry must be >= 0, and one of them > 0");
  if ((s.keepAlive + s.oneShot > 0) && (s.webPort <= 0 || s.webPort > 65535))
    bad(fmt::format("--web-port {} is not a port (1-65535); give it, or --keepalive 0 --oneshot 0", s.webPort));
  if (s.poetry > 0 && (s.poetryPort <= 0 || s.poetryPort > 65535 || s.poemPath.empty()))
    bad("poetry clients need --poetry-port (1-65535) and --poem; or give --poetry 0");
  if (!(s.seconds > 0) || !(s.timeout > 0) || s.pauseMs < 0 || s.rampMs < 0)
    bad("--seconds and --timeout must be > 0, --pause-ms and --ramp-ms >= 0");
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  try {
    settings = parse(argc, argv);
  } catch (const std::exception& e) {
    fmt::print(stderr, "reload_load: {} (see --help)\n", e.what());
    return 64;
  }
  std::string poem;
  if (settings.poetry > 0) {
    std::ifstream in(settings.poemPath, std::ios::binary);
    poem.assign(std::istreambuf_iterator<char>(in), {});
    if (!in.good() && !in.eof()) {
      fmt::print(stderr, "reload_load: read poem {}: {}\n", settings.poemPath, std::strerror(errno));
      return 66;
    }
    if (poem.empty()) {
      fmt::print(stderr, "reload_load: poem {} is missing or empty; give the file fastpoetry serves\n",
                 settings.poemPath);
      return 66;
    }
  }
  try {
    LoadGenerator load(settings, std::move(poem));
    struct sigaction stop {};
    stop.sa_handler = onStopSignal;  // no SA_RESTART: epoll_wait returns EINTR at once
    ::sigaction(SIGINT, &stop, nullptr);
    ::sigaction(SIGTERM, &stop, nullptr);
    load.run();
    if (!settings.recordsPath.empty()) reload_load::writeRecords(settings.recordsPath, load.records());
    // steady_clock is CLOCK_MONOTONIC here, the clock of Python's time.monotonic(): a script can place its own
    // events (each reload) on the timeline.
    const double started = std::chrono::duration<double>(load.startedAt().time_since_epoch()).count();
    fmt::print("reload_load: started at CLOCK_MONOTONIC {:.6f} s; {} keep-alive, {} one-shot, {} poetry clients for "
               "{} s\n", started, settings.keepAlive, settings.oneShot, settings.poetry, load.elapsedSeconds());
    return reload_load::report(load.records(), load.details(), load.elapsedSeconds()) ? 1 : 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "reload_load: {}\n", e.what());
    return 71;
  }
}
