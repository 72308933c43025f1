#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftp {

/// One control-connection line, parsed (RFC 959 section 4.1): a verb and its argument, or why the line was
/// refused.
struct CommandLine {
  enum class Kind {
    command,      // verb (upper-cased) and argument are set
    empty,        // a line with nothing on it
    tooLong,      // longer than CommandParser::maxLineLength; the rest of the line was discarded
    invalidUtf8,  // not UTF-8 (RFC 2640 requires it for path names)
    invalidVerb,  // the verb has characters other than ASCII letters, or more than 4 of them
  };
  Kind kind = Kind::command;
  std::string verb;      // "RETR"
  std::string argument;  // everything after the first space, as sent: "my file.txt"
};

/// Splits the bytes of an FTP control connection into command lines. Pure: no I/O, no clock; feed it data in any
/// split (whole, or one byte at a time) and it returns the same lines.
///
/// - A line ends at CRLF, and also at a bare CR or a bare LF: Python's ftplib sends ABOR as urgent data, and the
///   kernel then drops its final LF from the stream, leaving "ABOR\r". A LF or NUL right after a CR is skipped.
/// - Telnet commands (IAC followed by a command byte, or by WILL/WONT/DO/DONT and an option) are removed; IAC IAC
///   stands for one 0xFF byte (RFC 959 section 4.1 says the control connection speaks Telnet).
/// - A line longer than maxLineLength bytes is reported once as tooLong when it ends; its bytes are not kept, so
///   memory stays bounded whatever the peer sends.
class CommandParser {
 public:
  static constexpr std::size_t maxLineLength = 4096;

  /// Consumes data and returns the lines it completed, in order.
  std::vector<CommandLine> feed(std::string_view data);

  /// Consumes data only up to the end of the next line and returns that line (data then starts after it), or
  /// consumes all of data and returns nothing when no line ends in it. For executing one command at a time:
  /// the rest stays unparsed until the session is ready for it.
  std::optional<CommandLine> next(std::string_view& data);

  /// Bytes of the current, unfinished line (for tests).
  std::size_t pending() const noexcept { return line_.size(); }

 private:
  enum class Telnet { none, iac, option };
  void endLine(std::vector<CommandLine>& out);
  void addByte(char byte);

  std::string line_;
  bool overflow_ = false;
  bool afterCr_ = false;
  Telnet telnet_ = Telnet::none;
};

/// True when text is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view text) noexcept;

/// Parses one line's content (without its end) into a CommandLine.
CommandLine parseCommandLine(std::string_view line);

}  // namespace ftp
