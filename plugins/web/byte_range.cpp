#include "byte_range.hpp"

#include <optional>

#include "header_text.hpp"

namespace web {
namespace {

// A decimal number, refusing empty text and signs. One too large for 64 bits is the largest there is: RFC 9110
// 14.1.2 reads a last position or a suffix past the end as the end, and a first one as unsatisfiable.
std::optional<std::uint64_t> number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
  }
  return value;
}

// Whether decimal text a is below decimal text b, exactly, however long they are (both already checked to be
// digits): a last position before the first makes the range invalid even where both saturate to 2^64-1.
bool decimalLess(std::string_view a, std::string_view b) {
  const auto significant = [](std::string_view text) {
    const std::size_t start = text.find_first_not_of('0');
    return start == std::string_view::npos ? std::string_view() : text.substr(start);
  };
  a = significant(a);
  b = significant(b);
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

}  // namespace

ByteRange parseByteRange(std::string_view header, std::uint64_t size) {
  ByteRange result;
  header = trimmed(header);
  const std::size_t equals = header.find('=');
  if (equals == std::string_view::npos || !equalsLower(trimmed(header.substr(0, equals)), "bytes")) return result;
  const std::string_view spec = trimmed(header.substr(equals + 1));
  if (spec.find(',') != std::string_view::npos) return result;  // several ranges: the whole file
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return result;
  const std::string_view firstText = trimmed(spec.substr(0, dash));
  const std::string_view lastText = trimmed(spec.substr(dash + 1));
  if (firstText.empty()) {
    // A suffix: the last N bytes.
    const auto suffix = number(lastText);
    if (!suffix) return result;
    if (*suffix == 0 || size == 0) {
      result.kind = ByteRange::Kind::unsatisfiable;
      return result;
    }
    result.kind = ByteRange::Kind::satisfiable;
    result.first = *suffix >= size ? 0 : size - *suffix;
    result.last = size - 1;
    return result;
  }
  const auto first = number(firstText);
  if (!first) return result;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!lastText.empty()) {
    const auto given = number(lastText);
    if (!given || decimalLess(lastText, firstText)) return result;  // invalid: ignored, the whole file
    if (*given < last) last = *given;
  }
  if (*first >= size) {
    result.kind = ByteRange::Kind::unsatisfiable;
    return result;
  }
  result.kind = ByteRange::Kind::satisfiable;
  result.first = *first;
  result.last = last;
  return result;
}

}  // namespace web
