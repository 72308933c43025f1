#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>
#include <cppd/metrics.hpp>

#include "unit/support/isolated_process.hpp"

namespace {

std::string refusal(std::string_view name, const cppd::MetricLabels& labels = {}, std::string_view help = "Help.") {
  try {
    if (name.ends_with("_total")) cppd::counter(name, help, labels);
    else cppd::gauge(name, help, labels);
  } catch (const cppd::Error& e) {
    CHECK(e.kind() == cppd::ErrorKind::software);
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("Registering a series twice returns the same cell, whatever the order of its labels", "[metrics]") {
  const cppd::Counter a = cppd::counter("mt_same_total", "Same.", {{"a", "1"}, {"b", "2"}});
  const cppd::Counter b = cppd::counter("mt_same_total", "Same.", {{"b", "2"}, {"a", "1"}});
  const cppd::Counter other = cppd::counter("mt_same_total", "Same.", {{"a", "1"}, {"b", "3"}});
  a.add(2);
  b.add(3);
  CHECK(a.value() == 5);
  CHECK(b.value() == 5);
  CHECK(other.value() == 0);
  const cppd::Counter copy = a;  // handles are cheap copies of the same cell
  copy.add();
  CHECK(a.value() == 6);
}

TEST_CASE("A gauge goes up and down and can be set", "[metrics]") {
  const cppd::Gauge g = cppd::gauge("mt_gauge", "A gauge.");
  g.add(5);
  g.sub(7);
  CHECK(g.value() == -2);
  g.set(40);
  CHECK(g.value() == 40);
}

TEST_CASE("A default-constructed handle is a sink", "[metrics]") {
  const cppd::Counter c;
  const cppd::Gauge g;
  c.add(9);
  g.set(9);
  CHECK(c.value() == 0);
  CHECK(g.value() == 0);
}

TEST_CASE("Metric names follow the Prometheus rules and counters end in _total", "[metrics]") {
  CHECK(refusal("") == "metric \"\": a metric name has 1 to 100 bytes");
  CHECK(refusal(std::string(101, 'a')).find("a metric name has 1 to 100 bytes") != std::string::npos);
  CHECK(refusal("9lives") == "metric \"9lives\": a metric name is [a-zA-Z_:][a-zA-Z0-9_:]*");
  CHECK(refusal("mt-dash") == "metric \"mt-dash\": a metric name is [a-zA-Z_:][a-zA-Z0-9_:]*");
  CHECK(refusal("mt_colon:ok") == "accepted");
  try {
    cppd::counter("mt_requests", "Requests.");
    FAIL("a counter without _total was accepted");
  } catch (const cppd::Error& e) {
    CHECK(std::string(e.what()) == "metric \"mt_requests\": a counter's name ends in _total");
  }
  CHECK(refusal("cppd_mine") == "metric \"cppd_mine\": the prefix cppd_ is reserved for the SDK and the runner");
  CHECK(refusal("mt_help", {}, "two\nlines") == "metric \"mt_help\": the help text is one line");
  CHECK(refusal("mt_help_long", {}, std::string(201, 'h')) ==
        "metric \"mt_help_long\": the help text has more than 200 bytes");
}

TEST_CASE("Labels are bounded: names, reserved __, count and value length", "[metrics]") {
  CHECK(refusal("mt_l1", {{"bad-name", "x"}}).find("label name \"bad-name\" is not [a-zA-Z_][a-zA-Z0-9_]*") !=
        std::string::npos);
  CHECK(refusal("mt_l2", {{"__name", "x"}}) == "metric \"mt_l2\": label name \"__name\" starts with the reserved __");
  CHECK(refusal("mt_l3", {{"a", "1"}, {"b", "1"}, {"c", "1"}, {"d", "1"}, {"e", "1"}}) ==
        "metric \"mt_l3\": 5 labels; a series has at most 4");
  CHECK(refusal("mt_l4", {{"v", std::string(129, 'x')}}) ==
        "metric \"mt_l4\": the value of label v has 129 bytes; at most 128");
  CHECK(refusal("mt_l5", {{"a", "1"}, {"a", "2"}}) == "metric \"mt_l5\": label a is given twice");
  CHECK(refusal("mt_l6", {{"v", std::string("any\0\"\\\n bytes", 14)}}) == "accepted");
}

TEST_CASE("The same name with another type or help text is refused", "[metrics]") {
  cppd::counter("mt_clash_total", "One help.", {{"k", "1"}});
  CHECK_THROWS_WITH(cppd::counter("mt_clash_total", "Another help.", {{"k", "2"}}),
                    Catch::Contains("mt_clash_total: already registered with another help text"));
  CHECK_THROWS_WITH(cppd::counter("mt_clash_total", "Another help.", {{"k", "1"}}),
                    Catch::Contains("mt_clash_total: already registered as a counter"));
  cppd::gauge("mt_clash2", "G.");
  CHECK_THROWS_WITH(cppd::gauge("mt_clash2", "G2."), Catch::Contains("already registered"));
}

TEST_CASE("A process has a bounded number of series; beyond it registration throws", "[metrics]") {
  // In a child: the limit is per process, and this one's series are needed by the other tests.
  const std::string outcome = cppd::testing::inChild([] {
    std::size_t registered = 0;
    try {
      for (; registered < 1000; ++registered) {
        cppd::gauge("mt_many", "Many.", {{"i", std::to_string(registered)}});
      }
    } catch (const cppd::Error& e) {
      return std::to_string(registered) + ": " + e.what();
    }
    return std::string("no limit");
  });
  // The SDK's own series of this process count too, so the limit comes at 256 or a little before.
  CHECK_THAT(outcome, Catch::Contains("this process already has the most series it may have (256)"));
  CHECK(std::stoul(outcome) > 200);
}
