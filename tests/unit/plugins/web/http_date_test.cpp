// HTTP-date parsing: the three forms RFC 9110 5.6.7 asks recipients to accept, and what is refused.
#include "http_date.hpp"

#include <catch2/catch.hpp>

TEST_CASE("An HTTP-date is read in IMF-fixdate, RFC 850 and asctime form alike", "[web]") {
  const std::time_t expected = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(web::parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT") == expected);
  CHECK(web::parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT") == expected);
  CHECK(web::parseHttpDate("Sun Nov  6 08:49:37 1994") == expected);
  CHECK(web::parseHttpDate("Wed Nov 16 08:49:37 1994") == expected + 10 * 86400);
  CHECK(web::formatHttpDate(expected) == "Sun, 06 Nov 1994 08:49:37 GMT");
}

TEST_CASE("The 29th of February of a leap year and a leap second are dates", "[web]") {
  CHECK(web::parseHttpDate("Tue, 29 Feb 2000 00:00:00 GMT") == 951782400);
  CHECK(web::parseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT") == 1483228800);
}

TEST_CASE("An RFC 850 two-digit year below 70 is in this century", "[web]") {
  CHECK(web::parseHttpDate("Thursday, 01-Jan-70 00:00:00 GMT") == 0);
  CHECK(web::parseHttpDate("Saturday, 01-Jan-00 00:00:00 GMT") == 946684800);
}

TEST_CASE("Anything else is not an HTTP-date", "[web]") {
  for (const char* text : {"", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Foo 1994 08:49:37 GMT",
                           "Sunday, 06-Nov-1994 08:49:37 GMT", "Sunday, 6-Nov-94 08:49:37 GMT",
                           "Sun Nov 6 08:49:37 1994", "Sun Nov  6 08:49:37 94", "Sun Nov  6 25:49:37 1994",
                           "Sun Nov 32 08:49:37 1994", "Sun, 06 Nov 1994 08-49-37 GMT", "1994-11-06T08:49:37Z",
                           "Thu, 31 Feb 2005 00:00:00 GMT", "Sun, 31 Apr 2005 00:00:00 GMT",
                           "Monday, 29-Feb-21 00:00:00 GMT", "Sun Feb 30 00:00:00 2000"}) {
    INFO(text);
    CHECK_FALSE(web::parseHttpDate(text).has_value());
  }
}
