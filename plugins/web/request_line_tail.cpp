#include "request_line_tail.hpp"

#include <cstddef>
#include <string_view>

namespace web {
namespace {

constexpr std::size_t kLongestTail = 16;  // " HTTP/1.1\r" and a few spaces more

bool isDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

void RequestLineTail::restart() {
  reading_ = false;
  from_ = nullptr;
  tail_.clear();
}

void RequestLineTail::targetEnds(const char* end) {
  reading_ = true;
  from_ = end;
  tail_.clear();
}

void RequestLineTail::chunkBegins(std::string_view chunk) {
  if (reading_) from_ = chunk.data();
  chunkEnd_ = chunk.data() + chunk.size();
}

bool RequestLineTail::read(const char* end) {
  if (!reading_ || from_ == nullptr || end <= from_) return true;
  const std::string_view bytes(from_, static_cast<std::size_t>(end - from_));
  from_ = end;
  const std::size_t lf = bytes.find('\n');
  tail_.append(bytes.substr(0, lf));
  if (lf == std::string_view::npos) return tail_.size() <= kLongestTail;
  reading_ = false;
  return valid();
}

// One or more spaces (RFC 9112 3 lets a recipient split on whitespace), then the version, then an optional CR.
// A line that ends with the target (HTTP/0.9's "GET /") is left to the parser, which refuses its version.
bool RequestLineTail::valid() const {
  std::string_view tail(tail_);
  if (!tail.empty() && tail.back() == '\r') tail.remove_suffix(1);
  if (tail.empty()) return true;
  const std::size_t version = tail.find_first_not_of(' ');
  if (version == 0 || version == std::string_view::npos) return false;
  tail.remove_prefix(version);
  return tail.size() == 8 && tail.substr(0, 5) == "HTTP/" && isDigit(tail[5]) && tail[6] == '.' && isDigit(tail[7]);
}

}  // namespace web
