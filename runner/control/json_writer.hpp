#pragma once

// Builds one line of JSON. Strings are written by the SDK's appendJsonString, the routine JSON log lines use, so
// the control socket and the log follow one policy: whatever bytes a string holds (a path with a quote, a control
// byte, invalid UTF-8 from a file name) the output is valid JSON and valid UTF-8, control, bidi and line-break
// characters are \uXXXX escapes, and a byte that is not UTF-8 becomes the four characters \xHH (Python's
// "backslashreplace"), which keeps the byte's value where U+FFFD would lose it.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cppd::runner {

class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  /// The next member's name; the value call that follows completes it.
  JsonWriter& key(std::string_view name);

  JsonWriter& value(std::string_view text);
  JsonWriter& value(const char* text) { return value(std::string_view(text)); }
  JsonWriter& value(const std::string& text) { return value(std::string_view(text)); }
  JsonWriter& value(bool b);
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(std::uint64_t n);
  JsonWriter& value(double d);
  JsonWriter& null();

  /// The document so far (complete once every begin has its end).
  const std::string& str() const noexcept { return out_; }

 private:
  void separate();

  std::string out_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool afterKey_ = false;
};

/// text as a JSON string literal, quotes included.
std::string jsonQuoted(std::string_view text);

}  // namespace cppd::runner
