#pragma once

// The Prometheus text exposition format, version 0.0.4, written from a scrape's samples: what GET /metrics serves.

#include <string>
#include <vector>

#include "metrics/metric_sample.hpp"

namespace cppd::runner {

/// The content type of what writeExposition returns.
inline constexpr const char* expositionContentType = "text/plain; version=0.0.4; charset=utf-8";

/// One "# HELP" and one "# TYPE" line per family (the samples of one name, kept together in the order their names
/// first appear; the help and type are the first sample's), then one line per sample. HELP text escapes "\" and
/// the newline; label values escape "\", '"' and the newline; invalid UTF-8 in either becomes U+FFFD, so every
/// byte a client or a plugin chose comes out as a valid, parseable line. A sample whose metric or label name is
/// not a valid Prometheus name, or that repeats a label name, is left out (its family too when nothing of it
/// remains): one bad series must not make the whole scrape unparseable. Never throws but std::bad_alloc.
std::string writeExposition(const std::vector<MetricSample>& samples);

/// A value as Prometheus spells it: integers up to 2^53 without exponent or fraction ("42", "-7"), others in
/// the shortest form that reads back exactly ("0.25", "1e+300"), and "+Inf", "-Inf", "NaN".
std::string prometheusNumber(double value);

/// [a-zA-Z_:][a-zA-Z0-9_:]*
bool isMetricName(const std::string& name);
/// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved for Prometheus itself).
bool isLabelName(const std::string& name);

}  // namespace cppd::runner
