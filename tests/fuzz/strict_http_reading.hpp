#pragma once

// A strict reference reading of an HTTP/1.1 request stream (RFC 9112), written for the http_protocol fuzz target
// to hold cppd web's framing against: where each request ends, and where the framing of one becomes invalid
// (a request line whose version is not HTTP/d.d, whitespace before a colon, obsolete line folding, a second Host
// or Content-Length, a Host that is not a host name with an optional port, a Content-Length that is not a number,
// Transfer-Encoding other than one "chunked", with Content-Length, or in HTTP/1.0), and that a request with a chunked body is the last one (cppd web answers it without reading the body). It decides
// nothing but framing: syntax it does not need for that (methods, targets, odd bytes) stops the reading as
// "unknown" rather than guessing.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace cppd::fuzz {

struct StrictReading {
  // lastRequest: a request with a chunked body, which cppd web answers without reading the body, then closes.
  enum class End { clean, partial, framingError, lastRequest, unknown };
  std::size_t complete = 0;  // requests read to their end before `end`
  End end = End::clean;
};

namespace strict_detail {

inline bool equalsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] + 32) : text[i];
    if (c != lower[i]) return false;
  }
  return true;
}

inline std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The next line (without its CRLF or LF) starting at `at`, moving `at` past it; false when no line end follows.
inline bool nextLine(std::string_view in, std::size_t& at, std::string_view& line) {
  const std::size_t lf = in.find('\n', at);
  if (lf == std::string_view::npos) return false;
  line = in.substr(at, lf - at);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  at = lf + 1;
  return true;
}

inline bool controlFree(std::string_view line) {
  for (char c : line) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

// RFC 9110 7.2 / RFC 3986 3.2.2: Host = uri-host [ ":" port ], uri-host = "[" literal "]" / reg-name (IPv4
// addresses are reg-names too), empty allowed.
inline bool hostValue(std::string_view value) {
  constexpr std::string_view kRegName =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=%";
  std::string_view port;
  if (!value.empty() && value[0] == '[') {
    const std::size_t end = value.find(']');
    if (end == std::string_view::npos || end == 1) return false;
    if (value.substr(1, end - 1).find_first_not_of(std::string(kRegName) + ":") != std::string_view::npos) {
      return false;
    }
    port = value.substr(end + 1);
  } else {
    const std::size_t end = std::min(value.find_first_not_of(kRegName), value.size());
    port = value.substr(end);
  }
  if (port.empty()) return true;
  return port[0] == ':' && port.find_first_not_of("0123456789", 1) == std::string_view::npos;
}

inline bool httpVersion(std::string_view text) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return text.size() == 8 && text.substr(0, 5) == "HTTP/" && digit(text[5]) && text[6] == '.' && digit(text[7]);
}

using End = StrictReading::End;

// The head and body of one request from `at`; clean when it was read to its end (at moves past it).
inline End readRequest(std::string_view in, std::size_t& at) {
  std::string_view line;
  if (!nextLine(in, at, line)) return End::partial;
  // The request line's syntax is not framing: only its version matters here (HTTP/1.0 has no chunking).
  const std::size_t space = line.rfind(' ');
  if (space == std::string_view::npos || line.find(' ') == space || !controlFree(line)) return End::unknown;
  // RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive. A line that ends with anything else
  // cannot be framed (3: answer 400); its line feed still ends it, whatever a lenient parser makes of the bytes.
  const std::string_view version = line.substr(space + 1);
  if (!httpVersion(version)) return End::framingError;
  const bool http10 = version == "HTTP/1.0";
  int hosts = 0, lengths = 0, encodings = 0;
  std::size_t length = 0;
  // A framing error counts once the head has ended: until then cppd may still be waiting for the rest of it.
  bool framing = false;
  for (;;) {
    if (!nextLine(in, at, line)) return End::partial;
    if (line.empty()) break;
    if (!controlFree(line)) return End::unknown;
    if (line.front() == ' ' || line.front() == '\t') {  // obsolete line folding
      framing = true;
      continue;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return End::unknown;
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trimmed(line.substr(colon + 1));
    if (name.find_first_of(" \t") != std::string_view::npos) {
      framing = true;
    } else if (equalsLower(name, "host")) {
      framing = framing || ++hosts > 1 || !hostValue(value);
    } else if (equalsLower(name, "content-length")) {
      if (++lengths > 1 || value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos) {
        framing = true;
        continue;
      }
      if (value.size() > 18) return End::unknown;
      for (char c : value) length = length * 10 + static_cast<std::size_t>(c - '0');
    } else if (equalsLower(name, "transfer-encoding")) {
      framing = framing || ++encodings > 1 || !equalsLower(value, "chunked");
    }
  }
  if (framing) return End::framingError;
  if (encodings > 0) return http10 || lengths > 0 ? End::framingError : End::lastRequest;
  if (in.size() - at < length) return End::partial;
  at += length;
  return End::clean;
}

}  // namespace strict_detail

/// Reads requests from `in` until it ends or one cannot be read to its end.
inline StrictReading readStrictly(std::string_view in) {
  StrictReading reading;
  std::size_t at = 0;
  for (;;) {
    while (at < in.size() && (in[at] == '\r' || in[at] == '\n')) ++at;  // empty lines before a request line
    if (at == in.size()) return reading;
    reading.end = strict_detail::readRequest(in, at);
    if (reading.end != StrictReading::End::clean) return reading;
    ++reading.complete;
  }
}

}  // namespace cppd::fuzz
