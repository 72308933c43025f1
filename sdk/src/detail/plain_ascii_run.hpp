#pragma once

// Finding where a run of bytes that need no escaping ends, eight bytes at a time: log lines are almost entirely
// printable ASCII, and the text and JSON line formats spent most of their time testing it byte by byte.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cppd::detail {

/// True when every byte of word is printable ASCII (0x20..0x7e) and neither special1 nor special2 (each a
/// printable byte). Bit tricks on the whole word: a byte below 0x20 borrows, 0x7f and the specials compare as
/// zero after an exclusive or, and a byte from 0x80 up has its top bit set; any of them marks a top bit.
constexpr bool isPlainAsciiWord(std::uint64_t word, unsigned char special1, unsigned char special2) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  constexpr std::uint64_t tops = 0x8080808080808080ull;
  const auto hasZeroByte = [](std::uint64_t v) { return (v - ones) & ~v & tops; };
  const std::uint64_t below = (word - ones * 0x20) & ~word & tops;
  const std::uint64_t marks = below | (word & tops) | hasZeroByte(word ^ (ones * 0x7f)) |
                              hasZeroByte(word ^ (ones * special1)) | hasZeroByte(word ^ (ones * special2));
  return marks == 0;
}

/// The index of the first byte at or after from for which isPlain(byte) is false (text.size() if none), where
/// isPlain accepts exactly printable ASCII other than special1 and special2.
template <typename IsPlain>
std::size_t endOfPlainRun(std::string_view text, std::size_t from, unsigned char special1, unsigned char special2,
                          IsPlain isPlain) noexcept {
  std::size_t i = from;
  for (std::uint64_t word; i + sizeof word <= text.size(); i += sizeof word) {
    std::memcpy(&word, text.data() + i, sizeof word);
    if (!isPlainAsciiWord(word, special1, special2)) break;
  }
  while (i < text.size() && isPlain(static_cast<unsigned char>(text[i]))) ++i;
  return i;
}

}  // namespace cppd::detail
