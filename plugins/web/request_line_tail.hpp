#pragma once

#include <string>
#include <string_view>

namespace web {

/// The bytes between a request's target and the end of its request line, which must be " HTTP/d.d" (RFC 9112 3:
/// request-line = method SP request-target SP HTTP-version; 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case
/// sensitive). http_parser, as Debian builds it (not strict), checks only the "H" and the digits: it takes any
/// four bytes after the "H" for "TTP/", line ends included, so after "GET / H\n\r\n" it still waited for a version
/// although the line, and the head, had ended, and the next bytes on the connection became part of this request.
///
/// HttpProtocol tells it where each piece of the target ends and where each chunk of input begins, and has it read
/// what the parser has consumed; the first line feed after the target ends the line.
class RequestLineTail {
 public:
  /// A new request begins: nothing is read until its target has been seen.
  void restart();
  /// A piece of the target ends at `end`; what follows belongs to the tail unless the next piece continues it.
  void targetEnds(const char* end);
  /// The parser starts on a new chunk of input (where the tail goes on, if it is being read).
  void chunkBegins(std::string_view chunk);
  /// Reads the tail up to `end` (consumed input, from the current chunk). False when the tail cannot be a version:
  /// the line ended with one that is not " HTTP/d.d", or it grew longer than one can be.
  bool read(const char* end);
  /// At the end of the head, whose request line ended in this chunk or before: reads the tail to its line feed.
  bool readToLineEnd() { return read(chunkEnd_); }

 private:
  bool valid() const;

  bool reading_ = false;  // after the target, before the line feed
  const char* from_ = nullptr;
  const char* chunkEnd_ = nullptr;
  std::string tail_;
};

}  // namespace web
