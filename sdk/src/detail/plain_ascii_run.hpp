#pragma once

// Finding where a run of bytes that need no escaping ends, eight bytes at a time: log lines are almost entirely
// printable ASCII, and the text and JSON line formats spent most of their time testing it byte by byte.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cppd::detail {

/// True when every byte of word is printable ASCII (0x20..0x7e) and neither Special1 nor Special2 (each a
/// printable byte; give the same one twice for a single special). Bit tricks on the whole word: a byte below
/// 0x20 borrows when 0x20 is taken from it, a byte from 0x7f up has its top bit set once 1 is added to it (or
/// already), and a special compares as zero after an exclusive or; each marks a top bit. A borrow or a carry can
/// only add marks next to a byte already marked, so the answer for the whole word is exact.
template <unsigned char Special1, unsigned char Special2>
constexpr bool isPlainAsciiWord(std::uint64_t word) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  constexpr std::uint64_t tops = 0x8080808080808080ull;
  const auto zeroByteMarks = [](std::uint64_t v) { return (v - ones) & ~v; };
  std::uint64_t marks = ((word - ones * 0x20) & ~word) | (word + ones) | word | zeroByteMarks(word ^ (ones * Special1));
  if constexpr (Special2 != Special1) marks |= zeroByteMarks(word ^ (ones * Special2));
  return (marks & tops) == 0;
}

/// The index of the first byte at or after from for which isPlain(byte) is false (text.size() if none), where
/// isPlain accepts exactly printable ASCII other than Special1 and Special2.
/// A run of at least eight bytes that is plain to its end is found without a byte-by-byte tail: the last eight
/// bytes are tested as one word, overlapping bytes already known to be plain.
template <unsigned char Special1, unsigned char Special2, typename IsPlain>
std::size_t endOfPlainRun(std::string_view text, std::size_t from, IsPlain isPlain) noexcept {
  std::size_t i = from;
  std::uint64_t word;
  for (; i + sizeof word <= text.size(); i += sizeof word) {
    std::memcpy(&word, text.data() + i, sizeof word);
    if (!isPlainAsciiWord<Special1, Special2>(word)) break;
  }
  if (i < text.size() && text.size() - from >= sizeof word && i + sizeof word > text.size()) {
    // The loop ended at the text's end, not at a marked word: the last eight bytes (all at or after from).
    std::memcpy(&word, text.data() + text.size() - sizeof word, sizeof word);
    if (isPlainAsciiWord<Special1, Special2>(word)) return text.size();
  }
  while (i < text.size() && isPlain(static_cast<unsigned char>(text[i]))) ++i;
  return i;
}

}  // namespace cppd::detail
