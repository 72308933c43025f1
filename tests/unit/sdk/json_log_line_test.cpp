#include <cppd/json_log_line.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using cppd::LogEvent;
using cppd::LogField;
using cppd::LogLevel;

namespace {

// Sets TZ for one test and restores the previous zone.
class ZoneForTest {
 public:
  explicit ZoneForTest(const char* zone) {
    if (const char* old = std::getenv("TZ")) previous_ = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~ZoneForTest() {
    if (previous_.empty()) ::unsetenv("TZ");
    else ::setenv("TZ", previous_.c_str(), 1);
    ::tzset();
  }
  ZoneForTest(const ZoneForTest&) = delete;
  ZoneForTest& operator=(const ZoneForTest&) = delete;

 private:
  std::string previous_;
};

// 2024-01-05T12:34:56.250000Z.
const auto kFixedTime = std::chrono::system_clock::from_time_t(1704458096) + std::chrono::milliseconds(250);

std::string json(std::string_view system, std::string_view text, std::vector<LogField> fields = {}) {
  std::string line;
  cppd::formatJsonLogLine(LogEvent{kFixedTime, LogLevel::warn, system, text, fields}, line);
  return line;
}

std::string text(std::string_view message, std::vector<LogField> fields) {
  std::string line;
  cppd::formatLogLine(LogEvent{kFixedTime, LogLevel::info, "-", message, fields}, line);
  return line;
}

std::string jsonString(std::string_view value) {
  std::string out;
  cppd::appendJsonString(value, out);
  return out;
}

}  // namespace

TEST_CASE("formatJsonLogLine writes one object: RFC 3339 local time with its offset, level, system, text", "[log]") {
  ZoneForTest zone("UTC");
  CHECK(json("Echo,0,127.0.0.1", "hello") ==
        "{\"time\":\"2024-01-05T12:34:56.250000+00:00\",\"level\":\"warn\",\"system\":\"Echo,0,127.0.0.1\","
        "\"text\":\"hello\"}\n");
  ZoneForTest india("IST-5:30");
  CHECK(json("-", "x").rfind("{\"time\":\"2024-01-05T18:04:56.250000+05:30\"", 0) == 0);
  ZoneForTest west("XST+3:30");
  CHECK(json("-", "x").rfind("{\"time\":\"2024-01-05T09:04:56.250000-03:30\"", 0) == 0);
}

TEST_CASE("formatJsonLogLine writes typed fields as members in order", "[log]") {
  ZoneForTest zone("UTC");
  const std::string line = json("-", "GET /", {{"path", "/a b"}, {"status", 200},
                                               {"bytes", std::uint64_t{18446744073709551615u}}, {"delta", -3},
                                               {"duration_ms", 0.5}, {"keepalive", true}});
  CHECK(line.substr(line.find("\"text\"")) ==
        "\"text\":\"GET /\",\"path\":\"/a b\",\"status\":200,\"bytes\":18446744073709551615,\"delta\":-3,"
        "\"duration_ms\":0.5,\"keepalive\":true}\n");
}

TEST_CASE("formatJsonLogLine writes a double that JSON cannot hold as null", "[log]") {
  const std::string line = json("-", "t", {{"a", std::nan("")}, {"b", std::numeric_limits<double>::infinity()}});
  CHECK(line.find(",\"a\":null,\"b\":null}\n") != std::string::npos);
}

TEST_CASE("formatJsonLogLine never lets a field replace one of the line's own members", "[log]") {
  const std::string line = json("sys", "real", {{"text", "forged"}, {"time", 1}, {"_level", "x"}, {"system", true}});
  CHECK(line.find("\"text\":\"real\",\"_text\":\"forged\",\"_time\":1,\"__level\":\"x\",\"_system\":true}") !=
        std::string::npos);
  CHECK(line.find("\"text\":\"forged\"") == std::string::npos);
}

TEST_CASE("appendJsonString escapes quotes, backslashes and every control character", "[log]") {
  CHECK(jsonString("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(jsonString("\r\n\t") == "\"\\r\\n\\t\"");
  CHECK(jsonString(std::string_view("\0\x01\x1b\x1f\x7f", 5)) == "\"\\u0000\\u0001\\u001b\\u001f\\u007f\"");
  CHECK(jsonString("\"},\"level\":\"critical") == "\"\\\"},\\\"level\\\":\\\"critical\"");
}

TEST_CASE("appendJsonString escapes U+2028/9, C1 and bidi controls, and keeps other UTF-8", "[log]") {
  CHECK(jsonString("\xe2\x80\xa8\xe2\x80\xa9") == "\"\\u2028\\u2029\"");
  CHECK(jsonString("\xc2\x85\xc2\x9b") == "\"\\u0085\\u009b\"");
  CHECK(jsonString("a\xe2\x80\xae" "b\xd8\x9c\xe2\x81\xa6") == "\"a\\u202eb\\u061c\\u2066\"");
  CHECK(jsonString("Ren\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80") == "\"Ren\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80\"");
}

TEST_CASE("appendJsonString writes each byte that is not UTF-8 as \\xHH, as Python's backslashreplace", "[log]") {
  CHECK(jsonString("a\xff" "b") == "\"a\\\\xffb\"");
  CHECK(jsonString("\xc0\xaf") == "\"\\\\xc0\\\\xaf\"");              // overlong '/'
  CHECK(jsonString("\xed\xa0\x80") == "\"\\\\xed\\\\xa0\\\\x80\"");   // a surrogate
  CHECK(jsonString("\xe6\x97") == "\"\\\\xe6\\\\x97\"");              // truncated
}

TEST_CASE("formatLogLine shows an event with fields exactly as it shows its text alone: twistd's line", "[log]") {
  ZoneForTest zone("UTC");
  CHECK(text("GET / 200", {{"path", "/a\"\n"}, {"status", 200}, {"ms", 1.5}, {"ok", false}}) ==
        "2024-01-05T12:34:56+0000 [-] GET / 200\n");
}

namespace {

class JsonCapture : public cppd::ILogObserver {
 public:
  void observe(const LogEvent& event) override { cppd::formatJsonLogLine(event, lines); }
  std::string lines;
};

}  // namespace

TEST_CASE("log::event publishes its fields with the context, and the start-up buffer keeps copies of them", "[log]") {
  cppd::log::reset();
  {
    std::string path = "/early";
    cppd::LogContext context("Web,1");
    cppd::log::event(LogLevel::info, "before any observer", {{"path", path}, {"status", 404}});
    path = "/overwritten";  // the buffered event must not refer to the caller's string
  }
  auto capture = std::make_shared<JsonCapture>();
  cppd::log::addObserver(capture);
  cppd::log::event(LogLevel::info, "after", {{"user", "bob"}});
  cppd::log::reset();
  CHECK(capture->lines.find("\"system\":\"Web,1\",\"text\":\"before any observer\",\"path\":\"/early\","
                            "\"status\":404}") != std::string::npos);
  CHECK(capture->lines.find("\"text\":\"after\",\"user\":\"bob\"}") != std::string::npos);
}
