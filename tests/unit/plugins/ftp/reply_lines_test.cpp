#include "reply_lines.hpp"

#include <string>

#include <catch2/catch.hpp>

using namespace std::string_literals;

TEST_CASE("A reply line sends a CR in its text as CR NUL and a LF as NUL, so only its own CRLF ends it", "[ftp]") {
  CHECK(ftp::replyLine(257, "\"/a\r\nb\" created") == "257 \"/a\r\0\0b\" created\r\n"s);
  CHECK(ftp::replyFirstLine(213, "Status of /x\r\n213 End") == "213-Status of /x\r\0\0" "213 End\r\n"s);
  CHECK(ftp::replyLine(200, "plain") == "200 plain\r\n");
}

TEST_CASE("A line inside a multi-line reply that begins with a digit is indented, so it cannot end the reply",
          "[ftp]") {
  CHECK(ftp::replyInnerLine("213 End of status.") == " 213 End of status.\r\n");
  CHECK(ftp::replyInnerLine(" EPSV") == " EPSV\r\n");
  CHECK(ftp::replyInnerLine("-rw-r--r-- 1 ftp ftp 3 Jan 01 2001 a\nb") ==
        "-rw-r--r-- 1 ftp ftp 3 Jan 01 2001 a\0b\r\n"s);
}

TEST_CASE("Encoding reply text twice changes nothing: a CR NUL already there is kept once", "[ftp]") {
  const std::string once = ftp::encodeReplyText("a\rb\nc");
  CHECK(once == "a\r\0b\0c"s);
  CHECK(ftp::encodeReplyText(once) == once);
}
