#include "command_parser.hpp"

#include <cctype>

namespace ftp {
namespace {

constexpr unsigned char kIac = 255;
constexpr unsigned char kWill = 251;  // WILL, WONT, DO, DONT (251-254) take an option byte
constexpr std::size_t kMaxVerb = 4;

}  // namespace

bool isValidUtf8(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    char32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    if ((extra == 2 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
        (extra == 3 && (code < 0x10000 || code > 0x10FFFF))) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

CommandLine parseCommandLine(std::string_view line) {
  CommandLine result;
  if (line.empty()) {
    result.kind = CommandLine::Kind::empty;
    return result;
  }
  if (!isValidUtf8(line)) {
    result.kind = CommandLine::Kind::invalidUtf8;
    return result;
  }
  const std::size_t space = line.find(' ');
  const std::string_view verb = line.substr(0, space);
  if (verb.empty() || verb.size() > kMaxVerb) {
    result.kind = CommandLine::Kind::invalidVerb;
    return result;
  }
  for (char c : verb) {
    if (!std::isalpha(static_cast<unsigned char>(c))) {
      result.kind = CommandLine::Kind::invalidVerb;
      return result;
    }
    result.verb += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (space != std::string_view::npos) result.argument = std::string(line.substr(space + 1));
  return result;
}

void CommandParser::addByte(char byte) {
  if (overflow_) return;
  if (line_.size() >= maxLineLength) {
    overflow_ = true;
    line_.clear();
    line_.shrink_to_fit();
    return;
  }
  line_ += byte;
}

void CommandParser::endLine(std::vector<CommandLine>& out) {
  if (overflow_) {
    CommandLine tooLong;
    tooLong.kind = CommandLine::Kind::tooLong;
    out.push_back(std::move(tooLong));
  } else {
    out.push_back(parseCommandLine(line_));
  }
  line_.clear();
  overflow_ = false;
}

std::optional<CommandLine> CommandParser::next(std::string_view& data) {
  std::vector<CommandLine> out;
  std::size_t used = 0;
  while (used < data.size() && out.empty()) {
    const char byte = data[used++];
    const auto c = static_cast<unsigned char>(byte);
    if (telnet_ == Telnet::option) {
      telnet_ = Telnet::none;
      continue;
    }
    if (telnet_ == Telnet::iac) {
      telnet_ = c >= kWill && c < kIac ? Telnet::option : Telnet::none;
      if (c == kIac) addByte(byte);  // IAC IAC: a literal 0xFF
      continue;
    }
    if (c == kIac) {
      telnet_ = Telnet::iac;
      continue;
    }
    const bool wasAfterCr = afterCr_;
    afterCr_ = false;
    if (byte == '\r') {
      endLine(out);
      afterCr_ = true;
    } else if (byte == '\n' || byte == '\0') {
      if (!wasAfterCr && byte == '\n') endLine(out);
      if (!wasAfterCr && byte == '\0') addByte(byte);
    } else {
      addByte(byte);
    }
  }
  // The LF (or NUL) of a CRLF that ended the line goes with it, so no lone byte is left over.
  if (!out.empty() && afterCr_ && used < data.size() && (data[used] == '\n' || data[used] == '\0')) {
    ++used;
    afterCr_ = false;
  }
  data.remove_prefix(used);
  if (out.empty()) return std::nullopt;
  return std::move(out.front());
}

std::vector<CommandLine> CommandParser::feed(std::string_view data) {
  std::vector<CommandLine> out;
  while (auto line = next(data)) out.push_back(std::move(*line));
  return out;
}

}  // namespace ftp
