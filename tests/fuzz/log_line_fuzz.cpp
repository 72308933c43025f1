// Log line formatting with arbitrary text: connection data, plugin messages and file names all end up in log
// lines. Input: 8 bytes of time (nanoseconds since the epoch, any value), then the system and the text separated
// by a NUL byte.
// Checks: formatLogLine appends (never rewrites what out held), produces exactly one line whatever the text holds,
// writes no control byte or DEL, and the system and text survive byte for byte once the escapes are read back.

#include <cppd/log.hpp>
#include <cstring>

#include "fuzz_support.hpp"

namespace {

// Reads back appendEscapedLogText's escapes: "\\", "\n", "\r", "\t" and "\xHH".
std::string unescape(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out += text[i];
      continue;
    }
    const char kind = text[++i];
    if (kind == 'n') out += '\n';
    else if (kind == 'r') out += '\r';
    else if (kind == 't') out += '\t';
    else if (kind == 'x' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else out += kind;
  }
  return out;
}

}  // namespace

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

  check(line.find('\n') == line.size() - 1, "the event took more than one line");
  for (unsigned char c : line.substr(0, line.size() - 1)) check(c >= 0x20 && c != 0x7f, "a raw control byte");
  const auto open = line.find(" [");
  check(open != std::string_view::npos, "the system is missing");
  const std::string expected = "[" + std::string(system) + "] " + std::string(text);
  check(unescape(line.substr(open + 1, line.size() - open - 2)) == expected,
        "the system and text did not survive formatting");
  return 0;
}
