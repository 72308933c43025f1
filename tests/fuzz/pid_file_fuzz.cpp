// Pidfile contents: a pidfile is written by whoever could write its directory, or left behind half-written.
// Input: the file's bytes, on a tmpfs scratch file. Both readers run: PidFile::readPid (tools and tests) and
// taking the pidfile over with PidFile (which reads the old content and logs it as stale).
// Checks: readPid gives -1 or a positive PID, and only for digits followed by whitespace; the stale-pidfile
// warning quotes the old content printably (no control bytes reach the log).

#include <pid_file.hpp>
#include <unistd.h>

#include <cppd/log.hpp>
#include <memory>

#include "fuzz_support.hpp"

namespace {

cppd::fuzz::ScratchFile& scratch() {
  static cppd::fuzz::ScratchFile file("cppd.pid");
  return file;
}

class PrintableLogCheck final : public cppd::ILogObserver {
 public:
  void observe(const cppd::LogEvent& event) override {
    for (char c : event.text) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7f) {
        cppd::fuzz::fail("a pidfile log line carries the raw control byte " + std::to_string(byte) + ": " +
                         std::string(event.text));
      }
    }
  }
};

bool looksLikePid(std::string_view text) {
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0) return false;
  return text.find_first_not_of(" \t\r\n", digits) == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cppd::log::addObserver(std::make_shared<PrintableLogCheck>());
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  scratch().write(data, size);
  const std::string& path = scratch().path();
  const std::string_view content(reinterpret_cast<const char*>(data), size);

  const pid_t pid = cppd::runner::PidFile::readPid(path);
  cppd::fuzz::check(pid == -1 || pid > 0, "readPid returned " + std::to_string(pid));
  if (pid > 0) {
    cppd::fuzz::check(looksLikePid(content), "readPid accepted '" + std::string(content) + "' as PID " +
                                                 std::to_string(pid));
  }

  cppd::fuzz::refusedOrAccepted("PidFile", [&] {
    cppd::runner::PidFile taken(path);
    cppd::fuzz::check(cppd::runner::PidFile::readPid(path) == ::getpid(), "PidFile did not record our PID");
  });
  return 0;
}
