#include "detail/utf8_sequence.hpp"

namespace cppd::detail {
namespace {

unsigned char byteAt(std::string_view text, std::size_t k) noexcept { return static_cast<unsigned char>(text[k]); }

}  // namespace

std::size_t wellFormedUtf8Length(std::string_view text) noexcept {
  if (text.empty()) return 0;
  const unsigned char lead = byteAt(text, 0);
  std::size_t length = 0;
  unsigned char low = 0x80;  // the range allowed for the second byte, narrowed to refuse overlong forms and
  unsigned char high = 0xbf;  // surrogates as in RFC 3629's table
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() < length || byteAt(text, 1) < low || byteAt(text, 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byteAt(text, k) < 0x80 || byteAt(text, k) > 0xbf) return 0;
  }
  return length;
}

bool isC1Control(std::string_view sequence) noexcept {
  return sequence.size() == 2 && byteAt(sequence, 0) == 0xc2 && byteAt(sequence, 1) < 0xa0;
}

bool isBidiControl(std::string_view sequence) noexcept {
  if (sequence.size() == 2) return byteAt(sequence, 0) == 0xd8 && byteAt(sequence, 1) == 0x9c;
  if (sequence.size() != 3 || byteAt(sequence, 0) != 0xe2) return false;
  const unsigned char second = byteAt(sequence, 1);
  const unsigned char third = byteAt(sequence, 2);
  if (second == 0x80) return third == 0x8e || third == 0x8f || (third >= 0xaa && third <= 0xae);
  return second == 0x81 && third >= 0xa6 && third <= 0xa9;
}

bool isUnicodeLineBreak(std::string_view sequence) noexcept {
  return sequence.size() == 3 && byteAt(sequence, 0) == 0xe2 && byteAt(sequence, 1) == 0x80 &&
         (byteAt(sequence, 2) == 0xa8 || byteAt(sequence, 2) == 0xa9);
}

}  // namespace cppd::detail
