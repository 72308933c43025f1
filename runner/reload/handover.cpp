#include "reload/handover.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/posix/unique_fd.hpp>

namespace cppd::runner {
namespace {

constexpr std::string_view kMagic = "cppd-handover 1";
constexpr std::size_t kMaxText = 1 << 20;

[[noreturn]] void refuse(const std::string& why) {
  throw Error(ErrorKind::software, fmt::format("read the reload handover: {}", why));
}

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const unsigned char c : bytes) out += fmt::format("{:02x}", c);
  return out;
}

std::string unhex(std::string_view text) {
  if (text.size() % 2 != 0) refuse("an odd-length hex field");
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
    if (error != std::errc() || end != text.data() + i + 2) refuse("a field that is not hex");
    out += static_cast<char>(value);
  }
  return out;
}

template <typename T>
T number(std::string_view text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) refuse(fmt::format("'{}' is not a number", text));
  return value;
}

double real(std::string_view text) {
  char* end = nullptr;
  const std::string copy(text);
  const double value = std::strtod(copy.c_str(), &end);
  if (copy.empty() || end != copy.c_str() + copy.size()) refuse(fmt::format("'{}' is not a number", text));
  return value;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start <= line.size()) {
    const std::size_t space = line.find(' ', start);
    out.push_back(line.substr(start, space == std::string_view::npos ? std::string_view::npos : space - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return out;
}

int descriptor(std::string_view text) {
  const int fd = number<int>(text);
  if (fd < -1) refuse(fmt::format("descriptor {}", fd));
  if (fd >= 0 && ::fcntl(fd, F_GETFD) < 0) refuse(fmt::format("descriptor {} is not open", fd));
  return fd;
}

}  // namespace

std::vector<int> Handover::descriptors() const {
  std::vector<int> out;
  for (const int fd : {pidFileFd, boardFd, metricsFd, totalsFd}) {
    if (fd >= 0) out.push_back(fd);
  }
  for (const auto& socket : listeners) out.push_back(socket.fd);
  return out;
}

std::string Handover::text() const {
  std::string out = fmt::format("{}\n", kMagic);
  out += fmt::format("generation {}\nreloads {}\nfailed {}\nstart {:.6f} {}\nrestarts {}\nwhy {}\nqueued {}\n"
                     "requested {}\n",
                     generation, reloads, failedReloads, startTime, startMonotonicNs, restarts, hex(why), queued ? 1 : 0,
                     requestedNs);
  out += fmt::format("fds {} {} {} {}\n", pidFileFd, boardFd, metricsFd, totalsFd);
  for (const auto& socket : listeners) out += fmt::format("listener {} {}\n", socket.fd, hex(socket.key));
  for (const auto& w : workers) out += fmt::format("worker {} {} {} {:.6f}\n", w.id, w.pid, w.slot, w.startTime);
  out += "end\n";
  return out;
}

Handover Handover::parse(std::string_view text) {
  Handover h;
  bool ended = false;
  bool first = true;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    if (newline == std::string_view::npos) refuse("the last line has no end");
    const std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline + 1);
    if (ended) refuse("text after its end");
    if (first) {
      if (line != kMagic) refuse(fmt::format("it does not start with '{}' (another version of cppd?)", kMagic));
      first = false;
      continue;
    }
    const auto f = fields(line);
    const std::string_view key = f[0];
    const auto want = [&](std::size_t n) {
      if (f.size() != n) refuse(fmt::format("'{}' has {} fields, not {}", key, f.size(), n));
    };
    if (key == "generation") { want(2); h.generation = number<std::uint64_t>(f[1]); }
    else if (key == "reloads") { want(2); h.reloads = number<std::uint64_t>(f[1]); }
    else if (key == "failed") { want(2); h.failedReloads = number<std::uint64_t>(f[1]); }
    else if (key == "start") { want(3); h.startTime = real(f[1]); h.startMonotonicNs = number<std::int64_t>(f[2]); }
    else if (key == "restarts") { want(2); h.restarts = number<std::uint64_t>(f[1]); }
    else if (key == "why") { want(2); h.why = unhex(f[1]); }
    else if (key == "queued") { want(2); h.queued = number<unsigned>(f[1]) != 0; }
    else if (key == "requested") { want(2); h.requestedNs = number<std::int64_t>(f[1]); }
    else if (key == "fds") {
      want(5);
      h.pidFileFd = descriptor(f[1]);
      h.boardFd = descriptor(f[2]);
      h.metricsFd = descriptor(f[3]);
      h.totalsFd = descriptor(f[4]);
    } else if (key == "listener") {
      want(3);
      const int fd = descriptor(f[1]);
      if (fd < 0) refuse("a listener without a descriptor");
      h.listeners.push_back(detail::HandedSocket{unhex(f[2]), fd});
    } else if (key == "worker") {
      want(5);
      h.workers.push_back(Worker{number<unsigned>(f[1]), number<pid_t>(f[2]), number<std::size_t>(f[3]), real(f[4])});
    } else if (key == "end") {
      want(1);
      ended = true;
    } else {
      refuse(fmt::format("unknown line '{}'", key));
    }
  }
  if (!ended) refuse("it is cut short");
  return h;
}

std::optional<Handover> Handover::fromEnvironment() {
  const char* value = std::getenv("CPPD_HANDOVER");
  if (value == nullptr) return std::nullopt;
  const std::string text(value);
  ::unsetenv("CPPD_HANDOVER");  // a child this image starts is not a reload
  const int fd = number<int>(text);
  if (fd < 3 || ::fcntl(fd, F_GETFD) < 0) refuse(fmt::format("CPPD_HANDOVER={} names no open descriptor", text));
  posix::UniqueFd owned(fd);
  std::string content(kMaxText, '\0');
  const ssize_t n = ::pread(fd, content.data(), content.size(), 0);
  if (n < 0) throw systemError("read", "the reload handover", errno);
  content.resize(static_cast<std::size_t>(n));
  Handover handover = parse(content);
  for (const int handed : handover.descriptors()) ::fcntl(handed, F_SETFD, FD_CLOEXEC);
  return handover;
}

std::optional<Handover>& startedWithHandover() {
  static std::optional<Handover> handover;
  return handover;
}

}  // namespace cppd::runner
