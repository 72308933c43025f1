#include "metrics/exposition.hpp"

#include <cmath>
#include <cstdint>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>

namespace cppd::runner {
namespace {

bool nameChar(char c, bool first, bool colon) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return letter || (!first && c >= '0' && c <= '9');
}

bool validName(const std::string& name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!nameChar(name[i], i == 0, colon)) return false;
  }
  return true;
}

// The length of the valid UTF-8 sequence at the start of text, 0 when it does not start with one (overlong
// forms, surrogates and code points past U+10FFFF are invalid too).
std::size_t utf8Length(std::string_view text) {
  const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead >= 0xE0 && lead <= 0xEF) length = 3;
  else if (lead >= 0xF0 && lead <= 0xF4) length = 4;
  else return 0;
  if (lead == 0xE0) low = 0xA0;
  if (lead == 0xED) high = 0x9F;
  if (lead == 0xF0) low = 0x90;
  if (lead == 0xF4) high = 0x8F;
  if (text.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

// Appends text escaped for a HELP line (quotes: false) or a label value (quotes: true), invalid UTF-8 replaced.
void appendEscaped(std::string& out, std::string_view text, bool quotes) {
  while (!text.empty()) {
    const char c = text.front();
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quotes) out += "\\\"";
    const std::size_t length = utf8Length(text);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD, for one byte that starts no valid sequence
      text.remove_prefix(1);
      continue;
    }
    if (c != '\\' && c != '\n' && !(c == '"' && quotes)) out.append(text.substr(0, length));
    text.remove_prefix(length);
  }
}

bool validSample(const MetricSample& sample) {
  if (!isMetricName(sample.name)) return false;
  for (std::size_t i = 0; i < sample.labels.size(); ++i) {
    if (!isLabelName(sample.labels[i].first)) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (sample.labels[j].first == sample.labels[i].first) return false;
    }
  }
  return true;
}

void appendSample(std::string& out, const MetricSample& sample) {
  out += sample.name;
  if (!sample.labels.empty()) {
    out += '{';
    for (std::size_t i = 0; i < sample.labels.size(); ++i) {
      if (i != 0) out += ',';
      out += sample.labels[i].first;
      out += "=\"";
      appendEscaped(out, sample.labels[i].second, true);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += prometheusNumber(sample.value);
  out += '\n';
}

}  // namespace

bool isMetricName(const std::string& name) { return validName(name, true); }

bool isLabelName(const std::string& name) { return validName(name, false) && name.rfind("__", 0) != 0; }

std::string prometheusNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  constexpr double exactIntegers = 9007199254740992.0;  // 2^53: every integer up to here is a double
  if (value == std::floor(value) && std::fabs(value) <= exactIntegers) {
    return fmt::format("{}", static_cast<std::int64_t>(value));
  }
  return fmt::format("{}", value);  // fmt's shortest round-trip form, which Prometheus (strconv) reads back exactly
}

std::string writeExposition(const std::vector<MetricSample>& samples) {
  // Families in the order their names first appear: a name split over the vector still makes one family, since
  // a family written twice is an error to a scraper.
  std::vector<std::vector<const MetricSample*>> families;
  std::unordered_map<std::string_view, std::size_t> index;
  for (const MetricSample& sample : samples) {
    if (!validSample(sample)) continue;
    auto [at, added] = index.emplace(sample.name, families.size());
    if (added) families.emplace_back();
    families[at->second].push_back(&sample);
  }
  std::string out;
  out.reserve(samples.size() * 96);
  for (const auto& family : families) {
    const MetricSample& first = *family.front();
    out += "# HELP ";
    out += first.name;
    if (!first.help.empty()) out += ' ';
    appendEscaped(out, first.help, false);
    out += "\n# TYPE ";
    out += first.name;
    out += first.type == MetricSample::Type::counter ? " counter\n" : " gauge\n";
    for (const MetricSample* sample : family) appendSample(out, *sample);
  }
  return out;
}

}  // namespace cppd::runner
