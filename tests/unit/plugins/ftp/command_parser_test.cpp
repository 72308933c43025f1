#include "command_parser.hpp"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using ftp::CommandLine;
using ftp::CommandParser;

namespace {

// Feeds input whole, or one byte at a time: TCP may split it anywhere.
std::vector<CommandLine> parse(const std::string& input, bool byteByByte) {
  CommandParser parser;
  if (!byteByByte) return parser.feed(input);
  std::vector<CommandLine> lines;
  for (char c : input) {
    for (CommandLine& line : parser.feed(std::string(1, c))) lines.push_back(std::move(line));
  }
  return lines;
}

}  // namespace

TEST_CASE("The FTP command parser splits CRLF lines into upper-cased verbs and verbatim arguments", "[ftp]") {
  const bool byteByByte = GENERATE(false, true);
  const auto lines = parse("user alice\r\nRETR my  file.txt\r\nPWD\r\n", byteByByte);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].kind == CommandLine::Kind::command);
  CHECK(lines[0].verb == "USER");
  CHECK(lines[0].argument == "alice");
  CHECK(lines[1].verb == "RETR");
  CHECK(lines[1].argument == "my  file.txt");
  CHECK(lines[2].verb == "PWD");
  CHECK(lines[2].argument.empty());
}

TEST_CASE("The FTP command parser ends lines at a bare CR or a bare LF too", "[ftp]") {
  const bool byteByByte = GENERATE(false, true);
  // "ABOR\r" is what ftplib's urgent ABOR leaves in the stream; CR NUL is Telnet's bare carriage return.
  const auto lines = parse(std::string("NOOP\nABOR\rSTAT\r\0QUIT\r\n", 22), byteByByte);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].verb == "NOOP");
  CHECK(lines[1].verb == "ABOR");
  CHECK(lines[2].verb == "STAT");
  CHECK(lines[3].verb == "QUIT");
}

TEST_CASE("The FTP command parser waits for the end of a line", "[ftp]") {
  CommandParser parser;
  CHECK(parser.feed("RETR fi").empty());
  CHECK(parser.pending() == 7);
  const auto lines = parser.feed("le\r\n");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].argument == "file");
  CHECK(parser.pending() == 0);
}

TEST_CASE("The FTP command parser reports empty lines, bad verbs and non-UTF-8 lines and goes on", "[ftp]") {
  const bool byteByByte = GENERATE(false, true);
  const auto lines = parse("\r\nRETRIEVE x\r\n12 x\r\nRETR \xff\xfe\r\nRETR caf\xc3\xa9\r\nCWD \xc0\xaf\r\nNOOP\r\n",
                           byteByByte);
  REQUIRE(lines.size() == 7);
  CHECK(lines[0].kind == CommandLine::Kind::empty);
  CHECK(lines[1].kind == CommandLine::Kind::invalidVerb);
  CHECK(lines[2].kind == CommandLine::Kind::invalidVerb);
  // 0xFF is Telnet's IAC: "\xff\xfe" is IAC DONT and the next byte is its option; the rest is "RETR \n".
  CHECK(lines[4].kind == CommandLine::Kind::command);
  CHECK(lines[4].argument == "caf\xc3\xa9");
  CHECK(lines[5].kind == CommandLine::Kind::invalidUtf8);  // an overlong encoding of '/'
  CHECK(lines[6].verb == "NOOP");
}

TEST_CASE("The FTP command parser rejects a non-UTF-8 byte that is not Telnet", "[ftp]") {
  const bool byteByByte = GENERATE(false, true);
  const auto lines = parse("STOR \xe9t\xe9\r\nNOOP\r\n", byteByByte);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].kind == CommandLine::Kind::invalidUtf8);
  CHECK(lines[1].verb == "NOOP");
}

TEST_CASE("The FTP command parser drops Telnet commands and keeps IAC IAC as one 0xFF byte", "[ftp]") {
  const bool byteByByte = GENERATE(false, true);
  // IAC IP IAC DM before ABOR (RFC 959 section 4.1.3), IAC WILL option, and an escaped IAC in an argument.
  const auto lines = parse("\xff\xf4\xff\xf2" "ABOR\r\n\xff\xfb\x01NOOP\r\nSITE a\xff\xff\r\n", byteByByte);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].verb == "ABOR");
  CHECK(lines[1].verb == "NOOP");
  CHECK(lines[2].kind == CommandLine::Kind::invalidUtf8);  // 0xFF itself is not UTF-8
}

TEST_CASE("The FTP command parser reports an overlong line once and keeps no more than the limit", "[ftp]") {
  const bool byteByByte = GENERATE(false, true);
  const std::string longLine = "STOR " + std::string(CommandParser::maxLineLength * 3, 'a') + "\r\n";
  CommandParser parser;
  std::vector<CommandLine> lines;
  if (byteByByte) {
    for (char c : longLine + "NOOP\r\n") {
      for (auto& line : parser.feed(std::string(1, c))) lines.push_back(line);
      CHECK(parser.pending() <= CommandParser::maxLineLength);
    }
  } else {
    lines = parser.feed(longLine + "NOOP\r\n");
  }
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].kind == CommandLine::Kind::tooLong);
  CHECK(lines[1].verb == "NOOP");
}

TEST_CASE("A line of exactly the limit is still a command", "[ftp]") {
  const std::string argument(CommandParser::maxLineLength - 5, 'b');
  CommandParser parser;
  const auto lines = parser.feed("STOR " + argument + "\r\n");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].kind == CommandLine::Kind::command);
  CHECK(lines[0].argument == argument);
}

TEST_CASE("UTF-8 validation accepts every well-formed sequence and refuses surrogates and overlongs", "[ftp]") {
  CHECK(ftp::isValidUtf8("plain"));
  CHECK(ftp::isValidUtf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));
  CHECK_FALSE(ftp::isValidUtf8("\xed\xa0\x80"));      // U+D800
  CHECK_FALSE(ftp::isValidUtf8("\xe0\x80\xaf"));      // overlong '/'
  CHECK_FALSE(ftp::isValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(ftp::isValidUtf8("\xc3"));              // truncated
}

TEST_CASE("The FTP command parser's next consumes input only up to the end of one line", "[ftp]") {
  CommandParser parser;
  std::string_view input = "USER a\r\nPASS b\r\nNOOP";
  auto first = parser.next(input);
  REQUIRE(first);
  CHECK(first->verb == "USER");
  CHECK(input == "PASS b\r\nNOOP");  // the LF of the CRLF goes with its line
  auto second = parser.next(input);
  REQUIRE(second);
  CHECK(second->verb == "PASS");
  CHECK_FALSE(parser.next(input));  // "NOOP" has no end yet: consumed and kept
  CHECK(input.empty());
  std::string_view end = "\r\n";
  auto third = parser.next(end);
  REQUIRE(third);
  CHECK(third->verb == "NOOP");
}
