// What a log rotation costs as history piles up: 1000 rotations of a log with 1000 rotated files already beside it,
// with twistd's unlimited count (each rotation renames every file, so each costs more than the one before), with
// the bounded default (--logfile-keep 10; the first rotation removes the files beyond it) and with
// --logfile-keep 1000. Usage: cppd_rotation_bench [rotations] [existing files] (default 1000 1000).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include <cppd/log.hpp>

#include "logging/log_file.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Timing {
  double totalMs = 0;
  double firstMs = 0;
  double lastMs = 0;
  std::size_t filesAfter = 0;
};

double millis(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

Timing run(const fs::path& dir, std::optional<unsigned> keep, long rotations, long existing) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (long n = 1; n <= existing; ++n) {
    const int fd = ::open((dir / ("cppd.log." + std::to_string(n))).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) ::close(fd);
  }
  cppd::runner::LogFileOptions options;
  options.path = dir / "cppd.log";
  options.maxSize = 0;
  options.keep = keep;
  cppd::runner::LogFile file(options);
  const cppd::LogEvent event{std::chrono::system_clock::now(), cppd::LogLevel::info, "-", "a line before rotating"};
  Timing timing;
  for (long i = 0; i < rotations; ++i) {
    file.observe(event);
    const auto start = Clock::now();
    file.rotate();
    const double ms = millis(Clock::now() - start);
    timing.totalMs += ms;
    if (i == 0) timing.firstMs = ms;
    timing.lastMs = ms;
  }
  timing.filesAfter = static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
  return timing;
}

}  // namespace

int main(int argc, char** argv) {
  const long rotations = argc > 1 ? std::atol(argv[1]) : 1000;
  const long existing = argc > 2 ? std::atol(argv[2]) : 1000;
  if (rotations <= 0 || existing < 0) {
    std::fprintf(stderr, "usage: cppd_rotation_bench [rotations] [existing files]\n");
    return 64;
  }
  const char* tmp = std::getenv("TMPDIR");
  const fs::path base = fs::path(tmp ? tmp : "/tmp") / ("cppd-rotation-bench-" + std::to_string(::getpid()));
  std::printf("%ld rotations, %ld rotated files present at the start (%s)\n", rotations, existing, base.c_str());
  const struct {
    const char* name;
    std::optional<unsigned> keep;
  } modes[] = {{"unlimited (twistd, the old default)", std::nullopt},
               {"--logfile-keep 10 (the default)", 10u},
               {"--logfile-keep 1000", 1000u}};
  for (const auto& mode : modes) {
    const Timing t = run(base, mode.keep, rotations, existing);
    std::printf("%-38s total %9.1f ms  %7.3f ms/rotation  first %8.3f ms  last %7.3f ms  files after %zu\n",
                mode.name, t.totalMs, t.totalMs / static_cast<double>(rotations), t.firstMs, t.lastMs, t.filesAfter);
  }
  fs::remove_all(base);
  return 0;
}
