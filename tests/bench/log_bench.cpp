// Logging throughput: what one "connection" log line costs through cppd::log, against a bare fmt::format_to of
// the same bytes plus write(2), measured in the same run; and the runner's log file (a real file in TMPDIR) with
// one write per line (as before batching: no LogBatch) against the same lines held and written once per loop
// iteration; and --log-format json against text, for plain and for structured (access-log) events.
// Usage: cppd_log_bench [events] (default 1,000,000).
#include <cppd/json_log_line.hpp>
#include <cppd/log.hpp>

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "logging/log_file.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// Lines per simulated connection: each connection sets its own context, as the networking code does per read.
constexpr long kLinesPerConnection = 10;

void writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written <= 0) return;
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

// What the runner's file observer does: format into a reused buffer, one write per event.
class WritingObserver : public cppd::ILogObserver {
 public:
  explicit WritingObserver(int fd) : fd_(fd) { line_.reserve(256); }
  void observe(const cppd::LogEvent& event) override {
    line_.clear();
    cppd::formatLogLine(event, line_);
    writeAll(fd_, line_.data(), line_.size());
  }

 private:
  int fd_;
  std::string line_;
};

class FormattingObserver : public cppd::ILogObserver {
 public:
  explicit FormattingObserver(bool json = false) : json_(json) { line_.reserve(256); }
  void observe(const cppd::LogEvent& event) override {
    line_.clear();
    if (json_) {
      cppd::formatJsonLogLine(event, line_);
    } else {
      cppd::formatLogLine(event, line_);
    }
    bytes_ += line_.size();
  }
  std::size_t bytes() const { return bytes_; }

 private:
  bool json_;
  std::string line_;
  std::size_t bytes_ = 0;
};

double nsPerEvent(std::chrono::nanoseconds elapsed, long events) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
         static_cast<double>(events);
}

// The workload: connections of kLinesPerConnection lines, each with a "[Echo,N,127.0.0.1]" context.
Clock::duration logThroughCppd(long events) {
  auto start = Clock::now();
  for (long i = 0; i < events; i += kLinesPerConnection) {
    cppd::LogContext context(fmt::format("Echo,{},127.0.0.1", i / kLinesPerConnection));
    for (long j = 0; j < kLinesPerConnection; ++j) cppd::log::info("received {} bytes, echoing", 64 + j);
  }
  return Clock::now() - start;
}

// Access-log events: a text and seven typed fields, as the web plugin logs one per request.
Clock::duration logAccessEvents(long events) {
  const std::string agent = "curl/7.88.1";
  auto start = Clock::now();
  for (long i = 0; i < events; i += kLinesPerConnection) {
    cppd::LogContext context(fmt::format("HTTPChannel,{},127.0.0.1", i / kLinesPerConnection));
    for (long j = 0; j < kLinesPerConnection; ++j) {
      cppd::log::event(cppd::LogLevel::info, "127.0.0.1 - - \"GET /index.html HTTP/1.1\" 200 1234",
                       {{"peer", "127.0.0.1"}, {"method", "GET"}, {"path", "/index.html"}, {"status", 200},
                        {"bytes", 1234 + j}, {"duration_ms", 0.125}, {"user_agent", agent}});
    }
  }
  return Clock::now() - start;
}

// The CPU time the calling thread has used: what the formats are compared by, since time spent waiting for a
// core on a busy machine is no part of either format's cost.
std::chrono::nanoseconds threadCpuTime() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

// Format-only CPU time per event of a workload for the text and the JSON format, alternating between them in
// slices of the events so that a change in the machine's load falls on both alike.
template <typename Workload>
std::pair<double, double> textAndJson(long events, Workload workload) {
  constexpr long kSlices = 10;
  const long slice = std::max(events / kSlices, kLinesPerConnection);
  std::chrono::nanoseconds spent[2]{};
  long done = 0;
  for (; done < events; done += slice) {
    for (int json = 0; json < 2; ++json) {
      cppd::log::addObserver(std::make_shared<FormattingObserver>(json == 1));
      const auto start = threadCpuTime();
      workload(slice);
      spent[json] += threadCpuTime() - start;
      cppd::log::reset();
    }
  }
  return {nsPerEvent(spent[0], done), nsPerEvent(spent[1], done)};
}

constexpr int kFormatRounds = 7;

// Text and JSON costs per event over rounds: the medians, and the median and range of the per-round ratio.
class FormatRounds {
 public:
  void add(std::pair<double, double> textJson) {
    text_.push_back(textJson.first);
    json_.push_back(textJson.second);
    ratio_.push_back(textJson.second / textJson.first);
  }
  void print(const char* what) {
    std::printf("%s, medians of %zu rounds: text %7.1f ns, json %7.1f ns (json/text %.3f, rounds %.3f..%.3f)\n",
                what, ratio_.size(), median(text_), median(json_), median(ratio_),
                *std::min_element(ratio_.begin(), ratio_.end()), *std::max_element(ratio_.begin(), ratio_.end()));
  }

 private:
  static double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
  }
  std::vector<double> text_;
  std::vector<double> json_;
  std::vector<double> ratio_;
};

// The same workload inside a LogBatch, flushed every linesPerIteration lines as the reactor flushes before each
// wait for I/O.
Clock::duration logBatched(long events, long linesPerIteration) {
  cppd::LogBatch batch;
  auto start = Clock::now();
  long sinceFlush = 0;
  for (long i = 0; i < events; i += kLinesPerConnection) {
    cppd::LogContext context(fmt::format("Echo,{},127.0.0.1", i / kLinesPerConnection));
    for (long j = 0; j < kLinesPerConnection; ++j) {
      cppd::log::info("received {} bytes, echoing", 64 + j);
      if (++sinceFlush == linesPerIteration) {
        cppd::log::flush();
        sinceFlush = 0;
      }
    }
  }
  cppd::log::flush();
  return Clock::now() - start;
}

// The runner's LogFile on a fresh file: per line (no batch) or batched.
double logFileNsPerEvent(const std::filesystem::path& dir, long events, long linesPerIteration) {
  std::filesystem::remove(dir / "bench.log");
  cppd::runner::LogFileOptions options;
  options.path = dir / "bench.log";
  options.maxSize = 0;
  auto file = std::make_shared<cppd::runner::LogFile>(options);
  cppd::log::addObserver(file);
  const Clock::duration elapsed =
      linesPerIteration > 0 ? logBatched(events, linesPerIteration) : logThroughCppd(events);
  cppd::log::reset();
  return nsPerEvent(elapsed, events);
}

// The floor: the same bytes with a prefix formatted once per second, no lock, no observer, no context.
// fd < 0 formats only.
Clock::duration referenceCachedPrefix(long events, int fd) {
  fmt::memory_buffer line;
  std::time_t cachedSecond = -1;
  std::string prefix;
  auto start = Clock::now();
  for (long i = 0; i < events; i += kLinesPerConnection) {
    std::string system = fmt::format("Echo,{},127.0.0.1", i / kLinesPerConnection);
    for (long j = 0; j < kLinesPerConnection; ++j) {
      std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
      if (now != cachedSecond) {
        prefix = fmt::format("{:%Y-%m-%dT%H:%M:%S%z}", fmt::localtime(now));
        cachedSecond = now;
      }
      line.clear();
      fmt::format_to(fmt::appender(line), "{} [{}] received {} bytes, echoing\n", prefix, system, 64 + j);
      if (fd >= 0) writeAll(fd, line.data(), line.size());
    }
  }
  return Clock::now() - start;
}

// The naive way: localtime and a time format for every line.
Clock::duration referenceNaive(long events, int fd) {
  fmt::memory_buffer line;
  auto start = Clock::now();
  for (long i = 0; i < events; i += kLinesPerConnection) {
    std::string system = fmt::format("Echo,{},127.0.0.1", i / kLinesPerConnection);
    for (long j = 0; j < kLinesPerConnection; ++j) {
      std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
      line.clear();
      fmt::format_to(fmt::appender(line), "{:%Y-%m-%dT%H:%M:%S%z} [{}] received {} bytes, echoing\n",
                     fmt::localtime(now), system, 64 + j);
      writeAll(fd, line.data(), line.size());
    }
  }
  return Clock::now() - start;
}

}  // namespace

int main(int argc, char** argv) {
  long events = argc > 1 ? std::atol(argv[1]) : 1'000'000;
  if (events <= 0) {
    std::fprintf(stderr, "usage: cppd_log_bench [events]\n");
    return 64;
  }
  int devNull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devNull < 0) {
    std::perror("open /dev/null");
    return 71;
  }

  auto writer = std::make_shared<WritingObserver>(devNull);
  cppd::log::addObserver(writer);
  double writing = nsPerEvent(logThroughCppd(events), events);
  cppd::log::reset();

  auto formatter = std::make_shared<FormattingObserver>();
  cppd::log::addObserver(formatter);
  double formatting = nsPerEvent(logThroughCppd(events), events);
  cppd::log::reset();

  // Alternate the formats round by round and take medians, so a noisy neighbour on the machine hurts neither
  // format more than the other; the ratio's median is of each round's own ratio.
  FormatRounds plain;
  FormatRounds access;
  for (int round = 0; round < kFormatRounds; ++round) {
    plain.add(textAndJson(events, logThroughCppd));
    access.add(textAndJson(events, logAccessEvents));
  }

  cppd::log::setLevel(cppd::LogLevel::warn);
  double filtered = nsPerEvent(logThroughCppd(events), events);
  cppd::log::setLevel(cppd::LogLevel::info);

  const char* tmp = std::getenv("TMPDIR");
  const std::filesystem::path dir = std::filesystem::path(tmp ? tmp : "/tmp") /
                                    ("cppd-log-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  double filePerLine = logFileNsPerEvent(dir, events, 0);
  double fileBatched1 = logFileNsPerEvent(dir, events, 1);
  double fileBatched4 = logFileNsPerEvent(dir, events, 4);
  double fileBatched32 = logFileNsPerEvent(dir, events, 32);
  std::filesystem::remove_all(dir);

  double floor = nsPerEvent(referenceCachedPrefix(events, devNull), events);
  double floorFormatOnly = nsPerEvent(referenceCachedPrefix(events, -1), events);
  double naive = nsPerEvent(referenceNaive(events, devNull), events);
  ::close(devNull);

  std::printf("events: %ld, %ld lines per connection context\n", events, kLinesPerConnection);
  std::printf("cppd::log -> format + write(/dev/null):    %7.1f ns/event\n", writing);
  std::printf("cppd::log -> format only:                  %7.1f ns/event\n", formatting);
  std::printf("cppd::log below the level (dropped):       %7.1f ns/event\n", filtered);
  std::printf("log file, one write per line (before):       %7.1f ns/event\n", filePerLine);
  std::printf("log file, batched, 1 line per iteration:    %7.1f ns/event\n", fileBatched1);
  std::printf("log file, batched, 4 lines per iteration:   %7.1f ns/event\n", fileBatched4);
  std::printf("log file, batched, 32 lines per iteration:  %7.1f ns/event (after; ratio %.2f)\n", fileBatched32,
              fileBatched32 / filePerLine);
  std::printf("reference: fmt::format_to + write, cached prefix: %7.1f ns/event\n", floor);
  std::printf("reference: fmt::format_to only, cached prefix:    %7.1f ns/event\n", floorFormatOnly);
  std::printf("reference: fmt::format_to + write, localtime each line: %7.1f ns/event\n", naive);
  std::printf("ratio cppd/reference (cached prefix): %.2f\n", writing / floor);
  std::printf("ratio cppd/reference (localtime each line): %.2f\n", writing / naive);
  std::printf("ratio cppd/reference (format only, cached prefix): %.2f\n", formatting / floorFormatOnly);
  plain.print("plain event, format only");
  access.print("access event (7 fields), format only");
  return 0;
}
