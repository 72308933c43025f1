#include <cstdint>
#include <cstring>
#include <string>

#include <catch2/catch.hpp>

#include "detail/plain_ascii_run.hpp"

namespace {

bool plainText(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '\\'; }
bool plainJson(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '\\' && c != '"'; }

}  // namespace

TEST_CASE("A word is plain exactly when each of its bytes is, whatever the byte and wherever it sits", "[log]") {
  // Every byte value in every position, among plain neighbours and among neighbours that are just plain (' '
  // borrows most easily, '~' is the last one below DEL), for both sets of specials.
  for (const unsigned char filler : {'a', ' ', '~'}) {
    for (unsigned value = 0; value < 256; ++value) {
      for (std::size_t position = 0; position < 8; ++position) {
        unsigned char bytes[8];
        std::memset(bytes, filler, sizeof bytes);
        bytes[position] = static_cast<unsigned char>(value);
        std::uint64_t word;
        std::memcpy(&word, bytes, sizeof word);
        const auto c = static_cast<unsigned char>(value);
        INFO("byte " << value << " at " << position << " among '" << filler << "'");
        CHECK(cppd::detail::isPlainAsciiWord<'\\', '\\'>(word) == plainText(c));
        CHECK(cppd::detail::isPlainAsciiWord<'"', '\\'>(word) == plainJson(c));
      }
    }
  }
}

TEST_CASE("endOfPlainRun stops at the first byte that needs escaping, in the fast part or the tail", "[log]") {
  const std::string text = "0123456789abcdefghij";
  for (std::size_t at = 0; at < text.size(); ++at) {
    std::string marked = text;
    marked[at] = '\x1b';
    CHECK(cppd::detail::endOfPlainRun<'\\', '\\'>(marked, 0, &plainText) == at);
    CHECK(cppd::detail::endOfPlainRun<'\\', '\\'>(marked, at + 1, &plainText) == marked.size());
  }
  // Every length and start around the word size, with the mark anywhere or nowhere (the overlapping last word).
  for (std::size_t size = 0; size <= 24; ++size) {
    for (std::size_t from = 0; from <= size; ++from) {
      for (std::size_t at = from; at <= size; ++at) {
        std::string bytes(size, 'x');
        if (at < size) bytes[at] = '\x7f';
        INFO("size " << size << " from " << from << " mark at " << at);
        CHECK(cppd::detail::endOfPlainRun<'\\', '\\'>(bytes, from, &plainText) == at);
      }
    }
  }
  CHECK(cppd::detail::endOfPlainRun<'\\', '\\'>("", 0, &plainText) == 0);
  CHECK(cppd::detail::endOfPlainRun<'"', '\\'>("abc\"def", 0, &plainJson) == 3);
}
