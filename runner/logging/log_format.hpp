#pragma once

// --log-format: how the runner's log file and stdout write an event. Syslog always gets text (its records have
// their own time and level).

#include <optional>
#include <string>
#include <string_view>

#include <cppd/log.hpp>

namespace cppd::runner {

enum class LogFormat {
  text,  // twistd's "time [system] text" line (formatLogLine)
  json,  // one JSON object per line (formatJsonLogLine)
};

/// "text" or "json"; nullopt for anything else.
std::optional<LogFormat> parseLogFormat(std::string_view name) noexcept;

/// Appends one line for event in format.
void formatLine(LogFormat format, const LogEvent& event, std::string& out);

}  // namespace cppd::runner
