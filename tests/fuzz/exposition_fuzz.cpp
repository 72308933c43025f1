// The metrics exposition: whatever bytes the samples carry (help text, label values a plugin took from a client,
// names, any double), the output must be the Prometheus text format 0.0.4, read back here strictly.
// Input: bytes, split on NUL into words; each sample takes a name, a help text, a label name, a label value and
// eight bytes of value (from the next word, zero-padded); the type alternates.
// Checks: every line is one of HELP, TYPE or a sample; the text is valid UTF-8; each family's HELP and TYPE come
// once, before its samples, and no family appears twice; names are valid; label values use only the three
// escapes; each number reads back to the value given (NaN as NaN); a label value that was valid UTF-8 reads back
// unchanged; a sample is left out only when one of its names is invalid.

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include <metrics/exposition.hpp>

#include "fuzz_support.hpp"

namespace {

using cppd::fuzz::check;
using cppd::runner::MetricSample;

const std::string replacement = "\xEF\xBF\xBD";

bool validUtf8(const std::string& text) {
  std::string copy;
  // The writer's own replacement is the reference only for what it keeps: here a byte-level decoder.
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3
                                : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    std::uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (std::size_t k = 1; k < n; ++k) {
      const auto t = static_cast<unsigned char>(text[i + k]);
      if ((t & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (t & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n;
  }
  return true;
}

double valueOf(const std::string& word) {
  unsigned char bytes[8] = {};
  std::memcpy(bytes, word.data(), std::min(word.size(), sizeof bytes));
  double value;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

double readNumber(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  check(!text.empty() && text.find_first_not_of("0123456789.e+-") == std::string::npos, "a bad number: " + text);
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  check(end == text.c_str() + text.size(), "a number with trailing bytes: " + text);
  return value;
}

// One sample line: name{a="v",...} value. Returns the name, the unescaped label pairs and the value.
struct Line {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

Line readSample(const std::string& line) {
  Line out;
  std::size_t i = line.find_first_of("{ ");
  check(i != std::string::npos, "a sample line without a value: " + line);
  out.name = line.substr(0, i);
  check(cppd::runner::isMetricName(out.name), "an invalid metric name: " + out.name);
  if (line[i] == '{') {
    ++i;
    while (line.at(i) != '}') {
      const std::size_t eq = line.find("=\"", i);
      check(eq != std::string::npos, "a label without =\": " + line);
      std::string name = line.substr(i, eq - i);
      check(cppd::runner::isLabelName(name), "an invalid label name: " + name);
      std::string value;
      for (i = eq + 2; line.at(i) != '"'; ++i) {
        if (line[i] != '\\') {
          value += line[i];
          continue;
        }
        const char e = line.at(++i);
        check(e == '\\' || e == '"' || e == 'n', "an escape Prometheus does not know in " + line);
        value += e == 'n' ? '\n' : e;
      }
      out.labels.emplace_back(std::move(name), std::move(value));
      ++i;
      if (line.at(i) == ',') ++i;
    }
    ++i;
  }
  check(line.at(i) == ' ', "no space before the value: " + line);
  out.value = readNumber(line.substr(i + 1));
  return out;
}

void checkHelp(const std::string& text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') continue;
    check(i + 1 < text.size() && (text[i + 1] == '\\' || text[i + 1] == 'n'), "a bad HELP escape: " + text);
    ++i;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto words = cppd::fuzz::splitOnNul(data, size);
  std::vector<MetricSample> samples;
  for (std::size_t k = 0; k + 4 < words.size() && samples.size() < 64; k += 5) {
    samples.push_back({words[k], words[k + 1], samples.size() % 2 ? MetricSample::Type::counter
                                                                  : MetricSample::Type::gauge,
                       {{words[k + 2], words[k + 3]}}, valueOf(words[k + 4])});
  }
  const std::string out = cppd::runner::writeExposition(samples);
  check(validUtf8(out), "the exposition is not valid UTF-8");
  check(out.empty() || out.back() == '\n', "the last line is not ended");
  std::set<std::string> families;
  std::string current;
  std::vector<Line> lines;
  for (std::size_t start = 0; start < out.size();) {
    const std::size_t end = out.find('\n', start);
    const std::string line = out.substr(start, end - start);
    start = end + 1;
    if (line.rfind("# HELP ", 0) == 0) {
      const std::size_t space = line.find(' ', 7);
      current = line.substr(7, space == std::string::npos ? std::string::npos : space - 7);
      check(families.insert(current).second, "a family written twice: " + current);
      if (space != std::string::npos) checkHelp(line.substr(space + 1));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      check(line == "# TYPE " + current + " counter" || line == "# TYPE " + current + " gauge",
            "a TYPE line that does not follow its HELP: " + line);
      continue;
    }
    lines.push_back(readSample(line));
    check(lines.back().name == current, "a sample outside its family: " + line);
  }
  // Every valid sample is there, in family order, with its value and its label as given.
  std::size_t kept = 0;
  for (const MetricSample& sample : samples) {
    const bool valid = cppd::runner::isMetricName(sample.name) && cppd::runner::isLabelName(sample.labels[0].first);
    kept += valid ? 1 : 0;
  }
  check(kept == lines.size(), "a valid sample is missing, or an invalid one was written");
  std::map<std::string, std::size_t> seen;
  for (const MetricSample& sample : samples) {
    if (!cppd::runner::isMetricName(sample.name) || !cppd::runner::isLabelName(sample.labels[0].first)) continue;
    std::size_t match = 0;
    for (std::size_t n = seen[sample.name]; n < lines.size() && !match; ++n) {
      if (lines[n].name == sample.name) match = n + 1;
    }
    check(match != 0, "a sample not found in order: " + sample.name);
    const Line& line = lines[match - 1];
    seen[sample.name] = match;
    check(std::isnan(sample.value) ? std::isnan(line.value) : line.value == sample.value,
          "a value did not read back");
    check(line.labels.size() == 1 && line.labels[0].first == sample.labels[0].first, "the label name changed");
    if (validUtf8(sample.labels[0].second)) {
      check(line.labels[0].second == sample.labels[0].second, "a valid UTF-8 label value changed");
    }
  }
  return 0;
}
