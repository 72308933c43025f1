// The FTP control connection's command parser (plugins/ftp/command_parser.*): every byte a client sends goes
// through it before anything else looks at it.
// Input: byte 0 is n (taken mod 16), bytes 1..n are chunk lengths, the rest is what the client sends. The bytes are
// fed once whole and once in chunks of those lengths, used in turn (a length of 0 feeds an empty chunk, then one
// byte; n = 0 feeds one byte at a time).
// Checks: splitting never changes the lines or the pending byte count; a parsed command has a verb of 1 to 4
// upper-case ASCII letters and an argument without a line end; every command line is valid UTF-8 and no longer
// than maxLineLength; the parser never holds more than maxLineLength bytes; isValidUtf8 agrees with an
// independent decoder (Unicode Table 3-7) on the whole input and on every line.

#include <command_parser.hpp>

#include <algorithm>
#include <cstddef>
#include <fmt/format.h>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using ftp::CommandLine;

// Unicode 15, Table 3-7 "Well-Formed UTF-8 Byte Sequences", as ranges per position.
bool referenceUtf8(std::string_view text) {
  std::size_t i = 0;
  auto in = [&](std::size_t at, unsigned low, unsigned high) {
    if (at >= text.size()) return false;
    const auto byte = static_cast<unsigned char>(text[at]);
    return byte >= low && byte <= high;
  };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x7F) {
      i += 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
      if (!in(i + 1, 0x80, 0xBF)) return false;
      i += 2;
    } else if (c == 0xE0) {
      if (!in(i + 1, 0xA0, 0xBF) || !in(i + 2, 0x80, 0xBF)) return false;
      i += 3;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      if (!in(i + 1, 0x80, 0xBF) || !in(i + 2, 0x80, 0xBF)) return false;
      i += 3;
    } else if (c == 0xED) {
      if (!in(i + 1, 0x80, 0x9F) || !in(i + 2, 0x80, 0xBF)) return false;
      i += 3;
    } else if (c == 0xF0) {
      if (!in(i + 1, 0x90, 0xBF) || !in(i + 2, 0x80, 0xBF) || !in(i + 3, 0x80, 0xBF)) return false;
      i += 4;
    } else if (c >= 0xF1 && c <= 0xF3) {
      if (!in(i + 1, 0x80, 0xBF) || !in(i + 2, 0x80, 0xBF) || !in(i + 3, 0x80, 0xBF)) return false;
      i += 4;
    } else if (c == 0xF4) {
      if (!in(i + 1, 0x80, 0x8F) || !in(i + 2, 0x80, 0xBF) || !in(i + 3, 0x80, 0xBF)) return false;
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

void checkUtf8(std::string_view text) {
  const bool ours = ftp::isValidUtf8(text);
  if (ours != referenceUtf8(text)) {
    std::string hex;
    for (char c : text.substr(0, 64)) hex += fmt::format("{:02x} ", static_cast<unsigned char>(c));
    cppd::fuzz::fail(fmt::format("isValidUtf8 says {} for [{}] (first 64 bytes), Table 3-7 says {}", ours, hex, !ours));
  }
}

std::string describe(const CommandLine& line) {
  return fmt::format("{{kind {}, verb '{}', argument of {} bytes}}", static_cast<int>(line.kind), line.verb,
                     line.argument.size());
}

bool same(const CommandLine& a, const CommandLine& b) {
  return a.kind == b.kind && a.verb == b.verb && a.argument == b.argument;
}

void checkLine(const CommandLine& line) {
  if (line.kind != CommandLine::Kind::command) return;  // verb and argument are unspecified then
  cppd::fuzz::check(!line.verb.empty() && line.verb.size() <= 4, "verb of bad length: " + describe(line));
  for (char c : line.verb) cppd::fuzz::check(c >= 'A' && c <= 'Z', "verb not upper-case ASCII: " + describe(line));
  cppd::fuzz::check(line.argument.find_first_of("\r\n") == std::string::npos,
                    "an argument holds a line end: " + describe(line));
  cppd::fuzz::check(line.verb.size() + 1 + line.argument.size() <= ftp::CommandParser::maxLineLength + 1,
                    "a command longer than maxLineLength: " + describe(line));
  cppd::fuzz::check(ftp::isValidUtf8(line.argument), "a command's argument is not UTF-8: " + describe(line));
  checkUtf8(line.argument);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cuts = std::min<std::size_t>(data[0] % 16, size - 1);
  const std::vector<std::uint8_t> lengths(data + 1, data + 1 + cuts);
  const std::string_view input(reinterpret_cast<const char*>(data + 1 + cuts), size - 1 - cuts);

  checkUtf8(input);

  ftp::CommandParser whole;
  const std::vector<CommandLine> expected = whole.feed(input);
  cppd::fuzz::check(whole.pending() <= ftp::CommandParser::maxLineLength, "the parser holds more than a line");

  ftp::CommandParser split;
  std::vector<CommandLine> got;
  std::size_t at = 0;
  for (std::size_t turn = 0; at < input.size(); ++turn) {
    std::size_t length = lengths.empty() ? 1 : lengths[turn % lengths.size()];
    if (length == 0) {
      cppd::fuzz::check(split.feed({}).empty(), "an empty chunk completed a line");
      length = 1;
    }
    length = std::min(length, input.size() - at);
    for (CommandLine& line : split.feed(input.substr(at, length))) got.push_back(std::move(line));
    cppd::fuzz::check(split.pending() <= ftp::CommandParser::maxLineLength, "the parser holds more than a line");
    at += length;
  }

  if (got.size() != expected.size()) {
    cppd::fuzz::fail(fmt::format("split input gave {} lines, whole input {}", got.size(), expected.size()));
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (!same(got[i], expected[i])) {
      cppd::fuzz::fail(fmt::format("line {}: split gave {}, whole {}", i, describe(got[i]), describe(expected[i])));
    }
    checkLine(expected[i]);
  }
  cppd::fuzz::check(split.pending() == whole.pending(),
                    fmt::format("pending bytes differ: split {}, whole {}", split.pending(), whole.pending()));

  // parseCommandLine on its own: a line without line ends parses to what a parser fed it (and CRLF) gives.
  const std::string_view firstLine = input.substr(0, std::min(input.find_first_of("\r\n"), input.size()));
  if (firstLine.size() <= ftp::CommandParser::maxLineLength &&
      firstLine.find_first_of("\xff") == std::string_view::npos) {
    const CommandLine direct = ftp::parseCommandLine(firstLine);
    checkLine(direct);
    ftp::CommandParser fresh;
    const std::vector<CommandLine> viaParser = fresh.feed(std::string(firstLine) + "\r\n");
    cppd::fuzz::check(viaParser.size() == 1 && same(viaParser[0], direct),
                      "parseCommandLine and CommandParser disagree on " + describe(direct));
  }
  return 0;
}
