#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace web {

/// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 IMF-fixdate), always 29 characters. Pure, thread-safe.
std::string formatHttpDate(std::time_t time);

/// Parses an HTTP-date in any of the three forms RFC 9110 5.6.7 asks recipients to accept: IMF-fixdate, the
/// obsolete RFC 850 form ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994"). Anything
/// else gives nullopt (a conditional header that cannot be parsed is ignored). Pure, thread-safe.
std::optional<std::time_t> parseHttpDate(std::string_view text);

/// "10/Oct/2000:13:55:36 +0000": the time field of the common log format (UTC).
std::string formatCommonLogTime(std::time_t time);

}  // namespace web
