// Log line formatting with arbitrary text: connection data, plugin messages and file names all end up in log
// lines. Input: 8 bytes of time (nanoseconds since the epoch, any value), then the system and the text separated
// by a NUL byte.
// Checks: formatLogLine appends (never rewrites what out held), produces exactly one line per line of text, every
// continuation line starts with a tab, and the text survives byte for byte.

#include <cppd/log.hpp>
#include <cstring>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::int64_t nanoseconds = 0;
  if (size >= 8) {
    std::memcpy(&nanoseconds, data, 8);
    data += 8;
    size -= 8;
  }
  const std::string_view rest(reinterpret_cast<const char*>(data), size);
  const auto nul = rest.find('\0');
  const std::string_view system = nul == std::string_view::npos ? std::string_view("-") : rest.substr(0, nul);
  const std::string_view text = nul == std::string_view::npos ? rest : rest.substr(nul + 1);

  cppd::LogEvent event;
  event.time = std::chrono::system_clock::time_point(std::chrono::nanoseconds(nanoseconds));
  event.level = static_cast<cppd::LogLevel>(size % 5);
  event.system = system;
  event.text = text;

  const std::string before = "previous line\n";
  std::string out = before;
  try {
    cppd::formatLogLine(event, out);
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("formatLogLine threw ") + typeid(e).name() + ": " + e.what());
  }
  using cppd::fuzz::check;
  check(out.compare(0, before.size(), before) == 0, "formatLogLine changed what out already held");
  const std::string_view line = std::string_view(out).substr(before.size());
  check(!line.empty() && line.back() == '\n', "the line does not end with a newline");

  const std::string marker = std::string(" [") + std::string(system) + "] ";
  const auto at = line.find(marker);
  check(at != std::string_view::npos, "the system is missing");
  const std::string_view prefix = line.substr(0, at);
  check(prefix.find('\n') == std::string_view::npos, "a newline in the time prefix");

  std::string expected;
  for (char c : text) expected += c == '\n' ? std::string("\n\t") : std::string(1, c);
  expected += '\n';
  check(line.substr(at + marker.size()) == expected, "the text did not survive formatting");
  return 0;
}
