#pragma once

#include <cstdint>
#include <string_view>

namespace web {

/// The outcome of a Range header against a representation of a known size (RFC 9110 section 14).
struct ByteRange {
  enum class Kind {
    none,           // no usable single range: serve the whole file (absent, malformed, multiple, not "bytes")
    satisfiable,    // serve [first, last] with 206
    unsatisfiable,  // 416 with "Content-Range: bytes */size"
  };
  Kind kind = Kind::none;
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  std::uint64_t length() const noexcept { return last - first + 1; }
};

/// Parses a Range header value ("bytes=0-99", "bytes=500-", "bytes=-500") for a file of size bytes. Only one
/// range is honoured; a list of several is answered with the whole file, which RFC 9110 allows. Pure.
ByteRange parseByteRange(std::string_view header, std::uint64_t size);

}  // namespace web
