#pragma once

// Helpers shared by the fuzz targets: which exceptions count as "the parser refused the input" (fine) and which
// are findings, splitting an input into words, and a per-process temporary file for parsers that only read files.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cppd/error.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <typeinfo>
#include <vector>

namespace cppd::fuzz {

/// Reports a finding and aborts, so libFuzzer records the input as a crash. Use for broken invariants.
[[noreturn]] inline void fail(const std::string& message) {
  std::fprintf(stderr, "\n==cppd-fuzz== FINDING: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

inline void check(bool condition, const std::string& message) {
  if (!condition) fail(message);
}

/// Runs body. cppd::Error (UsageError included) is how every parser refuses bad input, so it is fine; any other
/// exception (std::length_error, std::bad_alloc, std::logic_error, a third-party library's own type...) escaped a
/// parser that documents only cppd::Error, and is reported with its dynamic type and message.
template <typename Body>
bool refusedOrAccepted(const char* what, Body&& body) {
  try {
    body();
    return true;
  } catch (const cppd::Error&) {
    return false;
  } catch (const std::exception& e) {
    fail(std::string(what) + " threw an undocumented " + typeid(e).name() + ": " + e.what());
  }
}

/// The input split on NUL bytes: one word per piece (an input without NUL is one word; a trailing NUL adds an
/// empty word, so empty arguments are reachable too).
inline std::vector<std::string> splitOnNul(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words;
  std::string_view all(reinterpret_cast<const char*>(data), size);
  for (;;) {
    auto nul = all.find('\0');
    words.emplace_back(all.substr(0, nul));
    if (nul == std::string_view::npos) return words;
    all.remove_prefix(nul + 1);
  }
}

/// One file in a private directory on a tmpfs ($CPPD_FUZZ_SCRATCH when set, which tests/fuzz/run points at its
/// own directory on /dev/shm; else /dev/shm, else $TMPDIR), rewritten for every input and removed with its
/// directory at exit. Parsers that only take a path (the deployment file, the pidfile, the
/// ELF pre-check) read it.
class ScratchFile {
 public:
  explicit ScratchFile(const char* name) {
    const char* base = std::getenv("CPPD_FUZZ_SCRATCH");
    if (base == nullptr || *base == '\0') base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::getenv("TMPDIR");
    std::string dir = std::string(base ? base : "/tmp") + "/cppd-fuzz-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) fail("mkdtemp " + dir + " failed");
    dir_ = dir;
    path_ = dir + "/" + name;
  }
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  /// Replaces the file's content with data (a fresh file each time: the code under test may have changed its
  /// mode or replaced it).
  void write(const std::uint8_t* data, std::size_t size) {
    ::unlink(path_.c_str());
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("create " + path_ + " failed");
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd, data + done, size - done);
      if (n <= 0) fail("write " + path_ + " failed");
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }

  const std::string& path() const noexcept { return path_; }
  const std::string& directory() const noexcept { return dir_; }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace cppd::fuzz
