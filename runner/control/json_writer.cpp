#include "control/json_writer.hpp"

#include <cmath>

#include <fmt/core.h>

namespace cppd::runner {
namespace {

// The length of the valid UTF-8 sequence at text[pos], or 0 when the bytes there are not one.
std::size_t validSequence(std::string_view text, std::size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  std::size_t extra = 0;
  unsigned cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) extra = 1, cp = lead & 0x1Fu;
  else if (lead >= 0xE0 && lead <= 0xEF) extra = 2, cp = lead & 0x0Fu;
  else if (lead >= 0xF0 && lead <= 0xF4) extra = 3, cp = lead & 0x07u;
  else return 0;
  if (text.size() - pos <= extra) return 0;
  for (std::size_t i = 1; i <= extra; ++i) {
    const auto next = static_cast<unsigned char>(text[pos + i]);
    if ((next & 0xC0u) != 0x80u) return 0;
    cp = (cp << 6) | (next & 0x3Fu);
  }
  const bool overlong = (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000);
  if (overlong || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return 0;
  return extra + 1;
}

void appendEscaped(std::string& out, std::string_view text) {
  out += '"';
  for (std::size_t pos = 0; pos < text.size();) {
    const auto c = static_cast<unsigned char>(text[pos]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\u{:04x}", c);  // the rest of the control bytes, DEL too: nothing raw reaches a terminal
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (const std::size_t length = validSequence(text, pos); length > 0) {
      out.append(text.substr(pos, length));
      pos += length;
      continue;
    } else {
      out += "\\ufffd";
    }
    ++pos;
  }
  out += '"';
}

}  // namespace

std::string jsonQuoted(std::string_view text) {
  std::string out;
  appendEscaped(out, text);
  return out;
}

void JsonWriter::separate() {
  if (afterKey_) {
    afterKey_ = false;
    return;
  }
  if (first_.empty()) return;
  if (!first_.back()) out_ += ',';
  first_.back() = false;
}

JsonWriter& JsonWriter::beginObject() {
  separate();
  out_ += '{';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::endObject() {
  out_ += '}';
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::beginArray() {
  separate();
  out_ += '[';
  first_.push_back(true);
  return *this;
}

JsonWriter& JsonWriter::endArray() {
  out_ += ']';
  first_.pop_back();
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  separate();
  appendEscaped(out_, name);
  out_ += ':';
  afterKey_ = true;
  return *this;
}

JsonWriter& JsonWriter::value(std::string_view text) {
  separate();
  appendEscaped(out_, text);
  return *this;
}

JsonWriter& JsonWriter::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::value(std::int64_t n) {
  separate();
  out_ += fmt::format("{}", n);
  return *this;
}

JsonWriter& JsonWriter::value(std::uint64_t n) {
  separate();
  out_ += fmt::format("{}", n);
  return *this;
}

JsonWriter& JsonWriter::value(double d) {
  separate();
  out_ += std::isfinite(d) ? fmt::format("{:.3f}", d) : std::string("null");  // JSON has no NaN or infinity
  return *this;
}

JsonWriter& JsonWriter::null() {
  separate();
  out_ += "null";
  return *this;
}

}  // namespace cppd::runner
