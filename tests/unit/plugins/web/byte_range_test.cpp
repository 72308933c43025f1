// The web plugin's Range header parsing (RFC 9110 section 14), for a 1000-byte file unless said otherwise.
#include "byte_range.hpp"

#include <catch2/catch.hpp>

using web::ByteRange;
using web::parseByteRange;

namespace {

void checkRange(const char* header, std::uint64_t first, std::uint64_t last, std::uint64_t size = 1000) {
  INFO(header);
  const ByteRange range = parseByteRange(header, size);
  REQUIRE(range.kind == ByteRange::Kind::satisfiable);
  CHECK(range.first == first);
  CHECK(range.last == last);
  CHECK(range.length() == last - first + 1);
}

}  // namespace

TEST_CASE("First-last, open-ended and suffix ranges select the right bytes", "[web]") {
  checkRange("bytes=0-0", 0, 0);
  checkRange("bytes=0-499", 0, 499);
  checkRange("bytes=500-", 500, 999);
  checkRange("bytes=-1", 999, 999);
  checkRange("bytes=-200", 800, 999);
  checkRange("bytes=-5000", 0, 999);
  checkRange("bytes=900-5000", 900, 999);
  checkRange(" Bytes = 10 - 20 ", 10, 20);
  checkRange("bytes=0-18446744073709551615", 0, 999);
  checkRange("bytes=10-99999999999999999999999", 10, 999);
  checkRange("bytes=-99999999999999999999999", 0, 999);
}

TEST_CASE("A range starting at or past the end, or an empty suffix, is unsatisfiable", "[web]") {
  for (const char* header : {"bytes=1000-", "bytes=1000-2000", "bytes=-0", "bytes=5000-6000",
                             "bytes=99999999999999999999999-"}) {
    INFO(header);
    CHECK(parseByteRange(header, 1000).kind == ByteRange::Kind::unsatisfiable);
  }
  CHECK(parseByteRange("bytes=0-", 0).kind == ByteRange::Kind::unsatisfiable);
  CHECK(parseByteRange("bytes=-10", 0).kind == ByteRange::Kind::unsatisfiable);
}

TEST_CASE("Malformed, multiple and non-byte ranges are ignored: the whole file is served", "[web]") {
  for (const char* header : {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-1", "bytes=+1-2", "items=0-1",
                             "bytes=0-1,3-4", "bytes=1-2-3"}) {
    INFO(header);
    CHECK(parseByteRange(header, 1000).kind == ByteRange::Kind::none);
  }
}

TEST_CASE("Positions longer than 64 bits are compared exactly and read as the largest position", "[web]") {
  // A last position before the first is invalid even when both are beyond 2^64-1.
  CHECK(parseByteRange("bytes=99999999999999999999999-99999999999999999999998", 1000).kind == ByteRange::Kind::none);
  CHECK(parseByteRange("bytes=99999999999999999999999-99999999999999999999999", 1000).kind ==
        ByteRange::Kind::unsatisfiable);
  // Leading zeros do not make a number large: this first position fits in 64 bits.
  checkRange("bytes=09223372036854775806-9999999999999999999", 9223372036854775806u, 9999999999999999999u,
             UINT64_MAX);
  checkRange("bytes=00000000000000000000000000010-20", 10, 20);
}
