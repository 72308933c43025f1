// cppd::posix::readAll / writeAll: real files and pipes, a bound that holds, EINTR and short writes.

#include <cppd/posix/io.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include <cppd/posix/unique_fd.hpp>

namespace {

using cppd::posix::readAll;
using cppd::posix::UniqueFd;
using cppd::posix::writeAll;
using cppd::posix::writeAllAt;

struct TempFile {
  TempFile() {
    char pattern[] = "/tmp/cppd-posix-io-XXXXXX";
    fd = UniqueFd(::mkstemp(pattern));
    path = pattern;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::string path;
  UniqueFd fd;
};

std::string pattern(std::size_t size) {
  std::string text(size, '\0');
  for (std::size_t i = 0; i < size; ++i) text[i] = static_cast<char>('a' + i % 26);
  return text;
}

struct Pipe {
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read = UniqueFd(fds[0]);
    write = UniqueFd(fds[1]);
  }
  UniqueFd read;
  UniqueFd write;
};

}  // namespace

TEST_CASE("readAll reads a whole file from its start, leaving the offset alone", "[posix][io]") {
  TempFile file;
  const std::string text = pattern(100000);  // several reads of the internal buffer
  REQUIRE(writeAll(file.fd.get(), text) == 0);
  REQUIRE(::lseek(file.fd.get(), 0, SEEK_CUR) == static_cast<off_t>(text.size()));
  std::string out = "stale";
  CHECK(readAll(file.fd.get(), out, 1 << 20) == 0);
  CHECK(out == text);
  CHECK(::lseek(file.fd.get(), 0, SEEK_CUR) == static_cast<off_t>(text.size()));
}

TEST_CASE("readAll refuses more than the limit with EFBIG and keeps the prefix", "[posix][io]") {
  TempFile file;
  REQUIRE(writeAll(file.fd.get(), pattern(40000)) == 0);
  std::string out;
  CHECK(readAll(file.fd.get(), out, 40000) == 0);  // exactly the limit is fine
  CHECK(out.size() == 40000);
  CHECK(readAll(file.fd.get(), out, 39999) == EFBIG);
  CHECK(out == pattern(39999));
  CHECK(readAll(file.fd.get(), out, 0) == EFBIG);
  CHECK(out.empty());
}

TEST_CASE("readAll of an empty file is an empty string", "[posix][io]") {
  TempFile file;
  std::string out = "stale";
  CHECK(readAll(file.fd.get(), out, 10) == 0);
  CHECK(out.empty());
}

TEST_CASE("readAll reads a pipe to its end, bounded too", "[posix][io]") {
  Pipe pipe;
  const std::string text = pattern(30000);
  std::thread writer([&] {
    writeAll(pipe.write.get(), text);
    pipe.write.reset();
  });
  std::string out;
  const int error = readAll(pipe.read.get(), out, 1 << 20);
  writer.join();
  CHECK(error == 0);
  CHECK(out == text);

  Pipe bounded;
  REQUIRE(writeAll(bounded.write.get(), "0123456789") == 0);
  CHECK(readAll(bounded.read.get(), out, 4) == EFBIG);
  CHECK(out == "0123");
}

TEST_CASE("readAll and writeAll report the errno of a failed call", "[posix][io]") {
  std::string out;
  CHECK(readAll(-1, out, 10) == EBADF);
  CHECK(writeAll(-1, "x") == EBADF);
  UniqueFd readOnly(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  CHECK(writeAll(readOnly.get(), "x") == EBADF);
  Pipe pipe;
  pipe.read.reset();
  ::signal(SIGPIPE, SIG_IGN);
  CHECK(writeAll(pipe.write.get(), "x") == EPIPE);
  CHECK(writeAll(pipe.write.get(), "") == 0);  // nothing to write, nothing attempted
}

TEST_CASE("writeAllAt writes at the offset without moving the descriptor's", "[posix][io]") {
  TempFile file;
  REQUIRE(writeAll(file.fd.get(), "0123456789") == 0);
  CHECK(writeAllAt(file.fd.get(), "abc", 2) == 0);
  CHECK(::lseek(file.fd.get(), 0, SEEK_CUR) == 10);
  std::string out;
  REQUIRE(readAll(file.fd.get(), out, 100) == 0);
  CHECK(out == "01abc56789");
}

namespace {

std::atomic<int> interruptions{0};
void countInterruption(int) { interruptions.fetch_add(1); }

}  // namespace

// A pipe holds 64 KiB: writing 4 MiB while a slow reader drains it blocks the writer over and over, and a timer
// signal without SA_RESTART interrupts those blocked writes (EINTR when nothing was written yet, a short write
// otherwise). Every byte must arrive once, in order.
TEST_CASE("writeAll survives EINTR and short writes on a blocking pipe", "[posix][io]") {
  Pipe pipe;
  const std::string text = pattern(4 << 20);
  std::string received;
  std::thread reader([&] {
    sigset_t alarm;
    sigemptyset(&alarm);
    sigaddset(&alarm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm, nullptr);  // the signal goes to the writing thread
    char buffer[4096];
    for (;;) {
      const ssize_t n = ::read(pipe.read.get(), buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      received.append(buffer, static_cast<std::size_t>(n));
      if (received.size() % (256 << 10) < sizeof buffer) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  struct sigaction action {};
  action.sa_handler = countInterruption;  // no SA_RESTART: a blocked write returns
  struct sigaction previous {};
  ::sigaction(SIGALRM, &action, &previous);
  itimerval every{{0, 500}, {0, 500}};
  ::setitimer(ITIMER_REAL, &every, nullptr);
  const int error = writeAll(pipe.write.get(), text);
  itimerval off{};
  ::setitimer(ITIMER_REAL, &off, nullptr);
  ::sigaction(SIGALRM, &previous, nullptr);
  pipe.write.reset();
  reader.join();
  CHECK(error == 0);
  CHECK(interruptions.load() > 0);
  CHECK(received.size() == text.size());
  const bool intact = received == text;  // not CHECK(received == text): Catch would print 4 MiB twice
  CHECK(intact);
}
