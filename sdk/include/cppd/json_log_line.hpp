#pragma once

// The JSON line format (--log-format json): one object per line, for log shippers that would otherwise have to
// parse twistd's text, and safe whatever bytes a client put into a path, a header or an FTP argument.

#include <string>
#include <string_view>

#include <cppd/export.hpp>
#include <cppd/log.hpp>

namespace cppd {

/// Appends `{"time":"2026-11-30T21:44:37.123456+01:00","level":"info","system":"...","text":"..."` followed by
/// one member per field and `}\n`. time is RFC 3339 in local time with the offset and microseconds. A field's key
/// equal to time, level, system or text (or already so prefixed) gets a leading '_' per clash, so a field never
/// replaces a member of the line; a double that is not finite is written as null. Strings as appendJsonString.
/// Thread-safe; the time is cached per thread and second like formatLogLine's.
CPPD_API void formatJsonLogLine(const LogEvent& event, std::string& out);

/// Appends text as a JSON string, quotes included, so that any bytes give a string every strict parser accepts
/// and that cannot end early: '"' and '\' are escaped, control characters (C0, DEL, and the C1 range U+0080..
/// U+009F), U+2028/U+2029 (line breaks for JavaScript) and the bidi controls (which reorder a line on screen)
/// become \uXXXX; well-formed UTF-8 is kept. A byte that is not part of well-formed UTF-8 becomes the four
/// characters \xHH (as Python's "backslashreplace" decodes it), since a JSON string holds characters, not bytes.
CPPD_API void appendJsonString(std::string_view text, std::string& out);

}  // namespace cppd
