// The web plugin's pure request parsers: the request-target jail rules (plugins/web/request_path.*: percent-
// decoding, normalisation, origin and absolute form) and the Range header (plugins/web/byte_range.*).
// Input: byte 0 even: the rest is a request-target for parseRequestPath. Byte 0 odd: bytes 1-8 are a file size
// (little-endian; byte 0 & 2 keeps only its low 16 bits, so small files are common), the rest a Range value.
// Checks, request path: an accepted path has no "..", ".", empty or NUL-holding segment and no leading or
// trailing '/'; status and path agree with an independent decoder; re-encoding the accepted path and parsing it
// again gives the same path; rawPath starts with '/', directory matches its last byte, the query is empty or
// starts with '?' and holds no '#'. Byte range: a satisfiable range lies inside the file (first <= last < size)
// and agrees with an independent reading of RFC 9110 14.1.2 for a single "bytes=" range.

#include <byte_range.hpp>
#include <request_path.hpp>

#include <cctype>
#include <cstddef>
#include <cstdint>
#include <fmt/format.h>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"

namespace {

using web::PathStatus;

std::string show(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) {
    const auto byte = static_cast<unsigned char>(c);
    out += byte >= 0x20 && byte < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", byte);
  }
  return out;
}

// The same rules, written again from the header's description: segments between '/', each %XX-decoded (a bad
// escape is 400), a decoded '/' or NUL is 404, a decoded ".." is 403; "." and empty segments vanish.
PathStatus referenceDecode(std::string_view path, std::string& relative) {
  relative.clear();
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view raw = path.substr(start, end - start);
    std::string segment;
    // The first problem in the segment decides: a bad escape, or a byte no file name can hold.
    for (std::size_t i = 0; i < raw.size(); ++i) {
      char c = raw[i];
      if (c == '%') {
        if (raw.size() - i < 3 || !std::isxdigit(static_cast<unsigned char>(raw[i + 1])) ||
            !std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
          return PathStatus::badRequest;
        }
        c = static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      }
      if (c == '\0' || c == '/') return PathStatus::notFound;
      segment += c;
    }
    if (segment == "..") return PathStatus::forbidden;
    if (!segment.empty() && segment != ".") relative += (relative.empty() ? "" : "/") + segment;
    start = end + 1;
  }
  return PathStatus::ok;
}

std::string percentEncode(std::string_view relative) {
  std::string out = "/";
  for (char c : relative) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '/' || c == '-' || c == '_' || c == '~') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

void checkPath(std::string_view target) {
  const web::RequestPath path = web::parseRequestPath(target);
  const std::string what = "parseRequestPath('" + show(target) + "')";
  if (path.status != PathStatus::ok && path.status != PathStatus::forbidden && path.status != PathStatus::notFound) {
    return;  // badRequest: nothing else is meaningful
  }
  cppd::fuzz::check(!path.rawPath.empty() && path.rawPath.front() == '/', what + ": rawPath '" + show(path.rawPath) +
                                                                             "' does not start with '/'");
  cppd::fuzz::check(path.directory == (path.rawPath.back() == '/'), what + ": directory flag disagrees with rawPath");
  cppd::fuzz::check(path.query.empty() || (path.query.front() == '?' && path.query.find('#') == std::string::npos),
                    what + ": malformed query '" + show(path.query) + "'");
  if (!target.empty() && target.front() == '/') {
    cppd::fuzz::check(target.substr(0, path.rawPath.size()) == path.rawPath, what + ": rawPath is not the target's start");
  }

  std::string expected;
  const PathStatus reference = referenceDecode(path.rawPath, expected);
  cppd::fuzz::check(reference == path.status, fmt::format("{}: status {}, the reference decoder says {}", what,
                                                          static_cast<int>(path.status), static_cast<int>(reference)));
  if (path.status != PathStatus::ok) return;
  cppd::fuzz::check(path.relative == expected, what + ": relative '" + show(path.relative) + "', expected '" +
                                                   show(expected) + "'");

  const std::string& relative = path.relative;
  cppd::fuzz::check(relative.find('\0') == std::string::npos, what + ": relative holds a NUL");
  if (relative.empty()) return;
  cppd::fuzz::check(relative.front() != '/' && relative.back() != '/', what + ": relative starts or ends with '/'");
  std::size_t start = 0;
  while (start <= relative.size()) {
    const std::size_t end = std::min(relative.find('/', start), relative.size());
    const std::string_view segment = std::string_view(relative).substr(start, end - start);
    cppd::fuzz::check(!segment.empty() && segment != "." && segment != "..",
                      what + ": relative '" + show(relative) + "' has the segment '" + show(segment) + "'");
    start = end + 1;
  }

  const web::RequestPath again = web::parseRequestPath(percentEncode(relative));
  cppd::fuzz::check(again.status == PathStatus::ok && again.relative == relative,
                    what + ": re-encoding '" + show(relative) + "' does not parse back to it");
}

// RFC 9110 14.1.2, for one range: "bytes=first-last", "bytes=first-", "bytes=-suffix" (blanks around tokens
// tolerated, unit case-insensitive); what parseByteRange promises for each.
void checkRange(std::string_view header, std::uint64_t size) {
  const web::ByteRange range = web::parseByteRange(header, size);
  const std::string what = fmt::format("parseByteRange('{}', {})", show(header), size);
  using Kind = web::ByteRange::Kind;
  if (range.kind == Kind::satisfiable) {
    cppd::fuzz::check(size > 0 && range.first <= range.last && range.last < size,
                      fmt::format("{}: satisfiable range {}-{} outside the file", what, range.first, range.last));
    cppd::fuzz::check(range.length() >= 1 && range.length() <= size, what + ": bad length");
  }

  // The reference, for inputs of the plain shape only (no blanks, lower-case unit, no list).
  if (header.substr(0, 6) != "bytes=") return;
  const std::string_view spec = header.substr(6);
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find_first_not_of("0123456789-") != std::string_view::npos ||
      spec.find('-', dash + 1) != std::string_view::npos) {
    return;
  }
  // Numbers of any length: one beyond 64 bits reads as 2^64-1 (a first position past any file, a last position
  // or a suffix reaching its end); "last before first" is decided on the exact values.
  auto significant = [](std::string_view text) {
    const std::size_t start = text.find_first_not_of('0');
    return start == std::string_view::npos ? std::string(1, '0') : std::string(text.substr(start));
  };
  auto number = [&](std::string_view text) -> std::optional<std::uint64_t> {
    if (text.empty()) return std::nullopt;
    const std::string digits = significant(text);
    if (digits.size() > 20 || (digits.size() == 20 && digits > "18446744073709551615")) return UINT64_MAX;
    return std::stoull(digits);
  };
  auto exactlyLess = [&](std::string_view a, std::string_view b) {
    const std::string x = significant(a);
    const std::string y = significant(b);
    return x.size() != y.size() ? x.size() < y.size() : x < y;
  };
  const std::string_view firstText = spec.substr(0, dash);
  const std::string_view lastText = spec.substr(dash + 1);
  const auto first = number(firstText);
  const auto last = number(lastText);
  Kind expected = Kind::none;
  std::uint64_t from = 0;
  std::uint64_t to = 0;
  if (!first && last) {  // suffix
    if (*last == 0 || size == 0) {
      expected = Kind::unsatisfiable;
    } else {
      expected = Kind::satisfiable;
      from = *last >= size ? 0 : size - *last;
      to = size - 1;
    }
  } else if (first && (!last || !exactlyLess(lastText, firstText))) {
    if (*first >= size) {
      expected = Kind::unsatisfiable;
    } else {
      expected = Kind::satisfiable;
      from = *first;
      to = last && *last < size - 1 ? *last : size - 1;
    }
  }
  cppd::fuzz::check(range.kind == expected, fmt::format("{}: kind {}, expected {}", what, static_cast<int>(range.kind),
                                                        static_cast<int>(expected)));
  if (expected == Kind::satisfiable) {
    cppd::fuzz::check(range.first == from && range.last == to,
                      fmt::format("{}: {}-{}, expected {}-{}", what, range.first, range.last, from, to));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 1) == 0) {
    checkPath(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
    return 0;
  }
  if (size < 9) return 0;
  std::uint64_t fileSize = 0;
  for (int i = 8; i >= 1; --i) fileSize = fileSize << 8 | data[i];
  if (data[0] & 2) fileSize &= 0xffff;
  checkRange(std::string_view(reinterpret_cast<const char*>(data + 9), size - 9), fileSize);
  return 0;
}
