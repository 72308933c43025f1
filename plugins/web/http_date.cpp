#include "http_date.hpp"

#include <array>
#include <cstdio>

namespace web {
namespace {

constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool digits(std::string_view text, std::size_t at, std::size_t count, int& value) {
  value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

int monthIndex(std::string_view name) {
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (name == kMonths[i]) return static_cast<int>(i);
  }
  return -1;
}

// "08:49:37" at `at`.
bool clock(std::string_view text, std::size_t at, std::tm& parts) {
  return text[at + 2] == ':' && text[at + 5] == ':' && digits(text, at, 2, parts.tm_hour) &&
         digits(text, at + 3, 2, parts.tm_min) && digits(text, at + 6, 2, parts.tm_sec);
}

std::optional<std::time_t> checked(std::tm& parts, int month, int year) {
  if (month < 0 || parts.tm_mday < 1 || parts.tm_mday > 31 || parts.tm_hour > 23 || parts.tm_min > 59 ||
      parts.tm_sec > 60) {
    return std::nullopt;
  }
  // timegm would move "31 Feb" to March: a day the month does not have is no date.
  constexpr std::array<int, 12> kDaysIn{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leapYear = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  if (parts.tm_mday > kDaysIn[static_cast<std::size_t>(month)] || (month == 1 && parts.tm_mday == 29 && !leapYear)) {
    return std::nullopt;
  }
  parts.tm_mon = month;
  parts.tm_year = year - 1900;
  return timegm(&parts);
}

// "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<std::time_t> parseImfFixdate(std::string_view text) {
  std::tm parts{};
  int year = 0;
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
      text.substr(25) != " GMT" || !digits(text, 5, 2, parts.tm_mday) || !digits(text, 12, 4, year) ||
      !clock(text, 17, parts)) {
    return std::nullopt;
  }
  return checked(parts, monthIndex(text.substr(8, 3)), year);
}

// "Sunday, 06-Nov-94 08:49:37 GMT". RFC 9110 5.6.7: a two-digit year that appears to be more than 50 years in
// the future is in the past century; a server's clock makes 19xx for 70..99 and 20xx below that the same answer
// for every date before 2070.
std::optional<std::time_t> parseRfc850(std::string_view text) {
  const std::size_t comma = text.find(", ");
  if (comma == std::string_view::npos || comma < 6 || comma > 9) return std::nullopt;
  const std::string_view rest = text.substr(comma + 2);
  std::tm parts{};
  int year = 0;
  if (rest.size() != 22 || rest[2] != '-' || rest[6] != '-' || rest[9] != ' ' || rest.substr(18) != " GMT" ||
      !digits(rest, 0, 2, parts.tm_mday) || !digits(rest, 7, 2, year) || !clock(rest, 10, parts)) {
    return std::nullopt;
  }
  return checked(parts, monthIndex(rest.substr(3, 3)), year + (year < 70 ? 2000 : 1900));
}

// "Sun Nov  6 08:49:37 1994": the day is space-padded to two characters.
std::optional<std::time_t> parseAsctime(std::string_view text) {
  std::tm parts{};
  int year = 0;
  if (text.size() != 24 || text[3] != ' ' || text[7] != ' ' || text[10] != ' ' || text[19] != ' ' ||
      !digits(text, 9, 1, parts.tm_mday) || !clock(text, 11, parts) || !digits(text, 20, 4, year)) {
    return std::nullopt;
  }
  if (text[8] != ' ') {
    int tens = 0;
    if (!digits(text, 8, 1, tens)) return std::nullopt;
    parts.tm_mday += tens * 10;
  }
  return checked(parts, monthIndex(text.substr(4, 3)), year);
}

}  // namespace

std::string formatHttpDate(std::time_t time) {
  std::tm parts{};
  gmtime_r(&time, &parts);
  char buffer[40];
  const int n = std::snprintf(buffer, sizeof buffer, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[parts.tm_wday],
                              parts.tm_mday, kMonths[parts.tm_mon], parts.tm_year + 1900, parts.tm_hour, parts.tm_min,
                              parts.tm_sec);
  return std::string(buffer, static_cast<std::size_t>(n));
}

std::string formatCommonLogTime(std::time_t time) {
  std::tm parts{};
  gmtime_r(&time, &parts);
  char buffer[40];
  const int n = std::snprintf(buffer, sizeof buffer, "%02d/%s/%04d:%02d:%02d:%02d +0000", parts.tm_mday,
                              kMonths[parts.tm_mon], parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec);
  return std::string(buffer, static_cast<std::size_t>(n));
}

// RFC 9110 5.6.7: recipients accept all three formats.
std::optional<std::time_t> parseHttpDate(std::string_view text) {
  if (auto fixdate = parseImfFixdate(text)) return fixdate;
  if (auto rfc850 = parseRfc850(text)) return rfc850;
  return parseAsctime(text);
}

}  // namespace web
