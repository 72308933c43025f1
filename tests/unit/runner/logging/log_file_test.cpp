#include "logging/log_file.hpp"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>

#include "logging/line_buffer.hpp"
#include "unit/support/as_nobody.hpp"
#include "unit/support/runner_test_support.hpp"
#include "unit/support/skip.hpp"

using cppd::LogEvent;
using cppd::LogLevel;
using cppd::runner::LogFile;
using cppd::runner::LogFileOptions;
using cppd::test::slurp;
using cppd::test::TempDir;
namespace fs = std::filesystem;

namespace {

void emit(LogFile& file, const std::string& text) {
  file.observe(LogEvent{std::chrono::system_clock::now(), LogLevel::info, "-", text});
}

LogFileOptions options(const std::string& path, std::uint64_t maxSize, std::vector<std::string>* reports = nullptr) {
  LogFileOptions o;
  o.path = path;
  o.maxSize = maxSize;
  if (reports) o.reportError = [reports](std::string_view m) { reports->emplace_back(m); };
  return o;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("The log file gets twistd-format lines, appended", "[runner]") {
  TempDir dir;
  cppd::test::spit(dir / "cppd.log", "old\n");
  LogFile file(options(dir / "cppd.log", 0));
  emit(file, "hello");
  const std::string text = slurp(dir / "cppd.log");
  CHECK(text.rfind("old\n", 0) == 0);
  CHECK(contains(text, " [-] hello\n"));
  CHECK(file.size() == text.size());
}

TEST_CASE("Rotation is checked before each write: the file is rotated once it has reached the size", "[runner]") {
  TempDir dir;
  LogFile file(options(dir / "cppd.log", 100));
  int n = 0;
  while (file.size() < 100) emit(file, "line " + std::to_string(n++));
  CHECK_FALSE(fs::exists(dir / "cppd.log.1"));  // reaching the size alone does not rotate
  const std::string before = slurp(dir / "cppd.log");
  emit(file, "after");
  CHECK(slurp(dir / "cppd.log.1") == before);
  const std::string now = slurp(dir / "cppd.log");
  CHECK(contains(now, "after"));
  CHECK_FALSE(contains(now, "line 0"));
}

TEST_CASE("The newest rotated file is .1", "[runner]") {
  TempDir dir;
  LogFile file(options(dir / "cppd.log", 0));
  emit(file, "first");
  file.rotate();
  emit(file, "second");
  file.rotate();
  emit(file, "third");
  CHECK(contains(slurp(dir / "cppd.log.2"), "first"));
  CHECK(contains(slurp(dir / "cppd.log.1"), "second"));
  CHECK(contains(slurp(dir / "cppd.log"), "third"));
}

TEST_CASE("A --logfile-keep limit caps the rotated files, dropping the oldest", "[runner]") {
  TempDir dir;
  auto o = options(dir / "cppd.log", 0);
  o.keep = 2;
  LogFile file(o);
  for (int i = 0; i < 5; ++i) {
    emit(file, "generation " + std::to_string(i));
    file.rotate();
  }
  CHECK(fs::exists(dir / "cppd.log.1"));
  CHECK(fs::exists(dir / "cppd.log.2"));
  CHECK_FALSE(fs::exists(dir / "cppd.log.3"));
  CHECK(contains(slurp(dir / "cppd.log.1"), "generation 4"));
  CHECK(contains(slurp(dir / "cppd.log.2"), "generation 3"));
}

TEST_CASE("Rotated and recreated files keep the log's mode", "[runner]") {
  TempDir dir;
  cppd::test::spit(dir / "cppd.log", "");
  fs::permissions(dir / "cppd.log", fs::perms::owner_read | fs::perms::owner_write);
  LogFile file(options(dir / "cppd.log", 0));
  file.rotate();
  CHECK(fs::status(dir / "cppd.log").permissions() == (fs::perms::owner_read | fs::perms::owner_write));
}

TEST_CASE("SIGHUP and SIGUSR1 open the path again when the file was moved away; in place they differ",
          "[runner]") {
  struct Row {
    const char* what;
    void (LogFile::*action)();
    bool rotatesInPlace;  // SIGUSR1 rotates a file still in place; SIGHUP reopens it and appends
  };
  const Row rows[] = {{"reopen (SIGHUP)", &LogFile::reopen, false},
                      {"rotateOrReopen (SIGUSR1)", &LogFile::rotateOrReopen, true}};
  for (const auto& row : rows) {
    DYNAMIC_SECTION(row.what) {
      TempDir dir;
      LogFile file(options(dir / "cppd.log", 0));
      emit(file, "before");
      fs::rename(dir / "cppd.log", dir / "cppd.log.moved");
      emit(file, "in between");  // still goes to the moved file
      (file.*row.action)();
      emit(file, "after");
      CHECK(contains(slurp(dir / "cppd.log.moved"), "in between"));
      CHECK(contains(slurp(dir / "cppd.log"), "after"));
      CHECK_FALSE(contains(slurp(dir / "cppd.log"), "before"));
      CHECK_FALSE(fs::exists(dir / "cppd.log.1"));
      (file.*row.action)();  // in place now
      emit(file, "again");
      CHECK(contains(slurp(dir / "cppd.log"), "again"));
      CHECK(contains(slurp(dir / "cppd.log"), "after") != row.rotatesInPlace);
      CHECK(fs::exists(dir / "cppd.log.1") == row.rotatesInPlace);
    }
  }
}

TEST_CASE("/dev/null is never rotated", "[runner]") {
  struct stat before {};
  REQUIRE(::stat("/dev/null", &before) == 0);
  {
    LogFile file(options("/dev/null", 10));
    CHECK_FALSE(file.isRegularFile());
    for (int i = 0; i < 20; ++i) emit(file, "a line much longer than ten bytes");
    file.rotate();
    file.rotateOrReopen();
    file.reopen();
  }
  struct stat after {};
  REQUIRE(::stat("/dev/null", &after) == 0);
  CHECK(S_ISCHR(after.st_mode));
  CHECK(after.st_mode == before.st_mode);
  CHECK_FALSE(fs::exists("/dev/null.1"));
}

TEST_CASE("A full device never throws: the problem is reported once and lines are counted", "[runner]") {
  std::vector<std::string> reports;
  LogFile file(options("/dev/full", 0, &reports));
  for (int i = 0; i < 10; ++i) emit(file, "lost");
  REQUIRE(reports.size() == 1);
  CHECK(contains(reports[0], "write log file /dev/full: No space left on device"));
}

namespace {

// RLIMIT_FSIZE makes write(2) store what fits under the limit and then fail with EFBIG: a full disk in miniature,
// for this process only. SIGXFSZ is ignored meanwhile; both are restored on scope exit.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) : previousHandler_(std::signal(SIGXFSZ, SIG_IGN)) {
    ::getrlimit(RLIMIT_FSIZE, &previous_);
    const rlimit limit{bytes, previous_.rlim_max};
    ::setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &previous_);
    std::signal(SIGXFSZ, previousHandler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit previous_{};
  void (*previousHandler_)(int);
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

}  // namespace

TEST_CASE("A line cut short by a full disk is ended before the lost-lines notice", "[runner]") {
  TempDir dir;
  std::vector<std::string> reports;
  LogFile file(options(dir / "cppd.log", 0, &reports));
  emit(file, "first");
  {
    FileSizeLimit limit(fs::file_size(dir / "cppd.log") + 40);
    emit(file, "a line much longer than the forty bytes the file can still take");  // 40 bytes stored
    emit(file, "lost entirely");
  }
  emit(file, "after");
  REQUIRE(reports.size() == 1);
  CHECK(contains(reports[0], "File too large"));
  const std::vector<std::string> got = lines(slurp(dir / "cppd.log"));
  REQUIRE(got.size() == 4);
  CHECK(contains(got[0], " [-] first"));
  CHECK(got[1].size() == 40);  // the fragment, now ended by a newline of its own
  CHECK(contains(got[2], " [cppd.logfile] 2 log lines were lost: write log file "));
  CHECK(got[2].substr(0, 4) == got[0].substr(0, 4));  // the notice starts a line: it begins with the timestamp
  CHECK(contains(got[3], " [-] after"));
  CHECK(file.size() == fs::file_size(dir / "cppd.log"));
}

TEST_CASE("A JSON log file (--log-format json) gets JSON lines, rotates the same, and its own notices are JSON", "[runner]") {
  TempDir dir;
  std::vector<std::string> reports;
  LogFileOptions o = options(dir / "cppd.log", 300, &reports);
  o.format = cppd::runner::LogFormat::json;
  LogFile file(std::move(o));
  emit(file, "first \"quoted\"");
  while (!fs::exists(dir / "cppd.log.1")) emit(file, "filler");
  const std::vector<std::string> rotated = lines(slurp(dir / "cppd.log.1"));
  REQUIRE_FALSE(rotated.empty());
  CHECK(rotated[0].rfind("{\"time\":\"", 0) == 0);
  CHECK(contains(rotated[0], "\"level\":\"info\",\"system\":\"-\",\"text\":\"first \\\"quoted\\\"\"}"));
  {
    FileSizeLimit limit(fs::file_size(dir / "cppd.log") + 30);
    emit(file, "a line much longer than the thirty bytes the file can still take");
  }
  emit(file, "after");
  const std::vector<std::string> got = lines(slurp(dir / "cppd.log"));
  REQUIRE(got.size() >= 3);
  CHECK(contains(got[got.size() - 2], "\"system\":\"cppd.logfile\",\"text\":\"1 log lines were lost: write log"));
  CHECK(got[got.size() - 2].rfind("{\"time\":", 0) == 0);  // after the fragment's own line
  CHECK(contains(got.back(), "\"text\":\"after\"}"));
}

TEST_CASE("A missing log directory is a can't-create error naming the file", "[runner]") {
  TempDir dir;
  try {
    LogFile file(options(dir / "gone/cppd.log", 0));
    FAIL("opened a log in a missing directory");
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::cantCreate);
    CHECK(contains(e.what(), "open log file " + (dir / "gone/cppd.log")));
  }
}

TEST_CASE("A deleted log directory does not stop logging", "[runner]") {
  TempDir dir;
  fs::create_directory(dir / "sub");
  std::vector<std::string> reports;
  LogFile file(options(dir / "sub/cppd.log", 0, &reports));
  fs::remove_all(dir / "sub");
  emit(file, "still fine");
  file.reopen();
  file.rotate();
  emit(file, "and again");
  CHECK(reports.size() >= 1);
}

TEST_CASE("A read-only directory skips rotation, reports it once and keeps writing", "[runner]") {
  TempDir dir;
  fs::create_directory(dir / "ro");
  cppd::test::spit(dir / "ro/cppd.log", "");
  if (::geteuid() == 0) {
    REQUIRE(::chown((dir / "ro/cppd.log").c_str(), cppd::test::kNobody, cppd::test::kNogroup) == 0);
    fs::permissions(dir.path(), fs::perms::all);
  }
  fs::permissions(dir / "ro", fs::perms::owner_read | fs::perms::owner_exec | fs::perms::others_read |
                                  fs::perms::others_exec | fs::perms::group_read | fs::perms::group_exec);
  const int status = cppd::test::runAsNobody([&] {
    std::vector<std::string> reports;
    LogFile file(options(dir / "ro/cppd.log", 50, &reports));
    for (int i = 0; i < 30; ++i) emit(file, "line " + std::to_string(i));
    file.rotate();
    return reports.size() == 1 && contains(reports[0], "cannot rotate log file") && !fs::exists(dir / "ro/cppd.log.1");
  });
  CHECK(status == 0);
  CHECK(contains(slurp(dir / "ro/cppd.log"), "line 29"));
}

TEST_CASE("A log created by root for another user is owned by that user", "[runner]") {
  if (::geteuid() != 0) return cppd::test::skipTest("needs root (CI runs as root)");
  TempDir dir;
  auto o = options(dir / "cppd.log", 0);
  o.owner = 65534;
  o.group = 65534;
  LogFile file(o);
  struct stat st {};
  REQUIRE(::stat((dir / "cppd.log").c_str(), &st) == 0);
  CHECK(st.st_uid == 65534);
  CHECK(st.st_gid == 65534);
}

TEST_CASE("A hard link planted under the log's name is never written: reopen keeps the old file", "[runner]") {
  TempDir dir;
  cppd::test::spit(dir / "secret", "secret\n");
  ::chmod((dir / "secret").c_str(), 0600);
  std::vector<std::string> reports;
  LogFile file(options(dir / "cppd.log", 0, &reports));
  REQUIRE(::rename((dir / "cppd.log").c_str(), (dir / "cppd.log.old").c_str()) == 0);
  REQUIRE(::link((dir / "secret").c_str(), (dir / "cppd.log").c_str()) == 0);
  file.reopen();
  emit(file, "after");
  CHECK(slurp(dir / "secret") == "secret\n");
  CHECK(contains(slurp(dir / "cppd.log.old"), " [-] after\n"));
  REQUIRE(reports.size() == 1);
  CHECK(reports[0].rfind("refuse log file " + (dir / "cppd.log") + ": it has 2 hard links (it may be another file "
                         "linked in);", 0) == 0);
  CHECK(contains(reports[0], "; still writing to the previous file"));
}

TEST_CASE("Inside a LogBatch the log file holds its lines until flush, then writes them in order", "[runner]") {
  TempDir dir;
  LogFile file(options(dir / "cppd.log", 0));
  {
    cppd::LogBatch batch;
    emit(file, "one");
    emit(file, "two");
    CHECK(slurp(dir / "cppd.log").empty());
    CHECK(file.size() == 0);
    file.flush();
    const std::vector<std::string> got = lines(slurp(dir / "cppd.log"));
    REQUIRE(got.size() == 2);
    CHECK(contains(got[0], " [-] one"));
    CHECK(contains(got[1], " [-] two"));
    emit(file, "three");
  }
  CHECK(contains(slurp(dir / "cppd.log"), "two\n"));
  CHECK_FALSE(contains(slurp(dir / "cppd.log"), "three"));  // the batch's end flushes the log, not this file
  emit(file, "four");  // outside a batch: what is held goes first
  const std::vector<std::string> got = lines(slurp(dir / "cppd.log"));
  REQUIRE(got.size() == 4);
  CHECK(contains(got[2], " [-] three"));
  CHECK(contains(got[3], " [-] four"));
}

TEST_CASE("Held lines go to the file they were logged to: rotate and reopen write them first", "[runner]") {
  TempDir dir;
  LogFile file(options(dir / "cppd.log", 0));
  cppd::LogBatch batch;
  emit(file, "before rotate");
  file.rotate();
  emit(file, "before reopen");
  fs::rename(dir / "cppd.log", dir / "cppd.log.moved");
  file.reopen();
  emit(file, "after");
  file.flush();
  CHECK(contains(slurp(dir / "cppd.log.1"), "before rotate"));
  CHECK(contains(slurp(dir / "cppd.log.moved"), "before reopen"));
  CHECK_FALSE(contains(slurp(dir / "cppd.log.moved"), "after"));
  CHECK(contains(slurp(dir / "cppd.log"), "after"));
}

TEST_CASE("Size rotation counts held lines: each rotated file ends where it would without holding", "[runner]") {
  TempDir direct;
  TempDir held;
  {
    LogFile a(options(direct / "cppd.log", 200));
    LogFile b(options(held / "cppd.log", 200));
    cppd::LogBatch batch;
    const auto time = std::chrono::system_clock::from_time_t(1704458096);  // identical lines in both logs
    for (int i = 0; i < 40; ++i) {
      const std::string text = "line " + std::to_string(i);
      const LogEvent event{time, LogLevel::info, "-", text};
      a.observe(event);
      a.flush();  // a writes every line at once, b holds them
      b.observe(event);
    }
  }
  for (const std::string name : {"cppd.log", "cppd.log.1", "cppd.log.2", "cppd.log.3"}) {
    INFO(name);
    CHECK(slurp(held / name) == slurp(direct / name));
  }
  CHECK(fs::exists(held / "cppd.log.3"));
}

TEST_CASE("Held lines that a full disk refuses are counted as lost, one by one", "[runner]") {
  TempDir dir;
  std::vector<std::string> reports;
  LogFile file(options(dir / "cppd.log", 0, &reports));
  emit(file, "first");
  {
    cppd::LogBatch batch;
    FileSizeLimit limit(fs::file_size(dir / "cppd.log") + 40);
    emit(file, "a line much longer than the forty bytes the file can still take");  // 40 bytes stored
    emit(file, "lost entirely");
    file.flush();
  }
  emit(file, "after");
  REQUIRE(reports.size() == 1);
  const std::vector<std::string> got = lines(slurp(dir / "cppd.log"));
  REQUIRE(got.size() == 4);
  CHECK(got[1].size() == 40);
  CHECK(contains(got[2], " [cppd.logfile] 2 log lines were lost: write log file "));
  CHECK(contains(got[3], " [-] after"));
}

TEST_CASE("The log file writes what it holds when it is destroyed", "[runner]") {
  TempDir dir;
  {
    LogFile file(options(dir / "cppd.log", 0));
    cppd::LogBatch batch;
    emit(file, "held at the end");
  }
  CHECK(contains(slurp(dir / "cppd.log"), " [-] held at the end\n"));
}

TEST_CASE("drainAll writes held lines without the lock, and later lines are written directly", "[runner]") {
  // The fatal-signal path and the backstop's forced exit: after the drain nothing reuses the buffer.
  TempDir dir;
  LogFile file(options(dir / "cppd.log", 0));
  cppd::LogBatch batch;
  emit(file, "held before the crash");
  cppd::runner::LineBuffer::drainAll();
  CHECK(contains(slurp(dir / "cppd.log"), "held before the crash\n"));
  emit(file, "after the drain");
  CHECK(contains(slurp(dir / "cppd.log"), "after the drain\n"));
  file.flush();
  CHECK(lines(slurp(dir / "cppd.log")).size() == 2);  // nothing written twice
}

TEST_CASE("Lines from another thread and held lines of the batching thread never split or reorder", "[runner]") {
  // A thread-pool job logging (written at once) while the loop thread holds its lines and flushes now and then.
  TempDir dir;
  LogFile file(options(dir / "cppd.log", 4000));  // rotating too
  constexpr int kLines = 2000;
  std::thread worker([&] {
    for (int i = 0; i < kLines; ++i) emit(file, "worker " + std::to_string(i));
  });
  {
    cppd::LogBatch batch;
    for (int i = 0; i < kLines; ++i) {
      emit(file, "loop " + std::to_string(i));
      if (i % 10 == 9) file.flush();
    }
  }
  worker.join();
  file.flush();
  std::vector<fs::path> files;  // oldest first: the highest number first, the live file last
  for (const auto& entry : fs::directory_iterator(dir.path())) files.push_back(entry.path());
  std::sort(files.begin(), files.end(), [](const fs::path& a, const fs::path& b) {
    const auto number = [](const fs::path& p) {
      const std::string ext = p.extension().string();
      return ext == ".log" ? 0 : std::stoi(ext.substr(1));
    };
    return number(a) > number(b);
  });
  int next[2] = {0, 0};
  for (const fs::path& path : files) {
    for (const std::string& line : lines(slurp(path))) {
      const bool loop = contains(line, " [-] loop ");
      REQUIRE((loop || contains(line, " [-] worker ")));
      const std::string number = line.substr(line.rfind(' ') + 1);
      REQUIRE(number == std::to_string(next[loop ? 0 : 1]++));
    }
  }
  CHECK(next[0] == kLines);
  CHECK(next[1] == kLines);
}
