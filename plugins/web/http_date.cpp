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

std::optional<std::time_t> parseHttpDate(std::string_view text) {
  // "Sun, 06 Nov 1994 08:49:37 GMT"
  if (text.size() != 29 || text.substr(3, 2) != ", " || text[7] != ' ' || text[11] != ' ' || text[16] != ' ' ||
      text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
    return std::nullopt;
  }
  std::tm parts{};
  int month = -1;
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (text.substr(8, 3) == kMonths[i]) month = static_cast<int>(i);
  }
  int year = 0;
  if (month < 0 || !digits(text, 5, 2, parts.tm_mday) || !digits(text, 12, 4, year) ||
      !digits(text, 17, 2, parts.tm_hour) || !digits(text, 20, 2, parts.tm_min) || !digits(text, 23, 2, parts.tm_sec)) {
    return std::nullopt;
  }
  if (parts.tm_mday < 1 || parts.tm_mday > 31 || parts.tm_hour > 23 || parts.tm_min > 59 || parts.tm_sec > 60) {
    return std::nullopt;
  }
  parts.tm_mon = month;
  parts.tm_year = year - 1900;
  return timegm(&parts);
}

}  // namespace web
