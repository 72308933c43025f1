#include "reply_lines.hpp"

#include <fmt/format.h>

namespace ftp {

std::string encodeReplyText(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r') {
      out += '\r';
      out += '\0';
      if (i + 1 < text.size() && text[i + 1] == '\0') ++i;  // already encoded (a name from a listing): keep it once
    } else if (c == '\n') {
      out += '\0';
    } else {
      out += c;
    }
  }
  return out;
}

std::string replyLine(int code, std::string_view text) { return fmt::format("{} {}\r\n", code, encodeReplyText(text)); }

std::string replyFirstLine(int code, std::string_view text) {
  return fmt::format("{}-{}\r\n", code, encodeReplyText(text));
}

std::string replyInnerLine(std::string_view text) {
  const bool digit = !text.empty() && text.front() >= '0' && text.front() <= '9';
  return fmt::format("{}{}\r\n", digit ? " " : "", encodeReplyText(text));
}

}  // namespace ftp
