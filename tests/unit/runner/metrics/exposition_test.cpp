#include "metrics/exposition.hpp"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using cppd::runner::MetricSample;
using cppd::runner::prometheusNumber;
using cppd::runner::writeExposition;
using Type = MetricSample::Type;

TEST_CASE("the exposition writes one HELP and TYPE per family, then its samples", "[metrics]") {
  const std::vector<MetricSample> samples{
      {"cppd_connections_accepted_total", "Connections accepted", Type::counter, {{"service", "web"}}, 3},
      {"cppd_connections_accepted_total", "Connections accepted", Type::counter, {{"service", "ftp"}}, 4},
      {"cppd_workers", "Workers", Type::gauge, {}, 2},
  };
  CHECK(writeExposition(samples) ==
        "# HELP cppd_connections_accepted_total Connections accepted\n"
        "# TYPE cppd_connections_accepted_total counter\n"
        "cppd_connections_accepted_total{service=\"web\"} 3\n"
        "cppd_connections_accepted_total{service=\"ftp\"} 4\n"
        "# HELP cppd_workers Workers\n"
        "# TYPE cppd_workers gauge\n"
        "cppd_workers 2\n");
}

TEST_CASE("the exposition keeps a family together when its samples are not adjacent", "[metrics]") {
  const std::vector<MetricSample> samples{
      {"a", "A", Type::gauge, {{"x", "1"}}, 1},
      {"b", "B", Type::gauge, {}, 2},
      {"a", "A", Type::gauge, {{"x", "2"}}, 3},
  };
  CHECK(writeExposition(samples) ==
        "# HELP a A\n# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 3\n# HELP b B\n# TYPE b gauge\nb 2\n");
}

TEST_CASE("the exposition escapes HELP text and label values", "[metrics]") {
  const std::vector<MetricSample> samples{
      {"m", "back\\slash\nnew \"quoted\"", Type::gauge, {{"v", "a\\b\"c\nd"}}, 1},
  };
  CHECK(writeExposition(samples) ==
        "# HELP m back\\\\slash\\nnew \"quoted\"\n# TYPE m gauge\nm{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST_CASE("the exposition replaces invalid UTF-8 in label values and HELP with U+FFFD", "[metrics]") {
  const std::string replacement = "\xEF\xBF\xBD";
  const std::vector<MetricSample> samples{
      {"m", "bad \xFF", Type::gauge, {{"v", "caf\xC3\xA9 \xC3 \xED\xA0\x80 \xF4\x90\x80\x80 \xE2\x82"}}, 1},
  };
  const std::string out = writeExposition(samples);
  CHECK(out.find("# HELP m bad " + replacement + "\n") != std::string::npos);
  // é stays; a cut sequence, a surrogate, a code point past U+10FFFF and a truncated tail do not.
  const std::string value = "caf\xC3\xA9 " + replacement + " " + replacement + replacement + replacement + " " +
                            replacement + replacement + replacement + replacement + " " + replacement + replacement;
  CHECK(out.find("m{v=\"" + value + "\"} 1\n") != std::string::npos);
}

TEST_CASE("the exposition leaves out samples with invalid names, and families left empty", "[metrics]") {
  const std::vector<MetricSample> samples{
      {"9bad", "", Type::gauge, {}, 1},
      {"ok", "", Type::gauge, {{"__reserved", "x"}}, 1},
      {"ok", "", Type::gauge, {{"a", "1"}, {"a", "2"}}, 2},
      {"ok", "", Type::gauge, {{"a-b", "1"}}, 3},
      {"ok:sub", "", Type::counter, {{"_fine", "1"}}, 4},
  };
  CHECK(writeExposition(samples) == "# HELP ok:sub\n# TYPE ok:sub counter\nok:sub{_fine=\"1\"} 4\n");
  CHECK(writeExposition({}).empty());
}

TEST_CASE("numbers are spelled as Prometheus reads them", "[metrics]") {
  CHECK(prometheusNumber(0) == "0");
  CHECK(prometheusNumber(-0.0) == "0");
  CHECK(prometheusNumber(42) == "42");
  CHECK(prometheusNumber(-7) == "-7");
  CHECK(prometheusNumber(9007199254740992.0) == "9007199254740992");  // 2^53, no exponent
  CHECK(prometheusNumber(1e300) == "1e+300");
  CHECK(prometheusNumber(0.25) == "0.25");
  CHECK(prometheusNumber(0.1) == "0.1");
  CHECK(prometheusNumber(1796087155.156232) == "1796087155.156232");
  CHECK(prometheusNumber(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(prometheusNumber(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(prometheusNumber(std::nan("")) == "NaN");
  for (const double value : {0.1, 1.0 / 3, 1e-300, 123456789.123, 5e-324, 1.7976931348623157e308}) {
    CHECK(std::strtod(prometheusNumber(value).c_str(), nullptr) == value);  // the shortest form reads back exactly
  }
}
