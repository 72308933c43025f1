#include "logging/log_format.hpp"

#include <cppd/json_log_line.hpp>

namespace cppd::runner {

std::optional<LogFormat> parseLogFormat(std::string_view name) noexcept {
  if (name == "text") return LogFormat::text;
  if (name == "json") return LogFormat::json;
  return std::nullopt;
}

void formatLine(LogFormat format, const LogEvent& event, std::string& out) {
  if (format == LogFormat::json) {
    formatJsonLogLine(event, out);
  } else {
    formatLogLine(event, out);
  }
}

}  // namespace cppd::runner
