// What reload_load recorded, and how it is reported: totals and errors per kind of client, latency percentiles,
// a per-100 ms timeline of failures, and one machine-readable "result" line per kind for the scripts.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <tuple>

namespace reload_load {

enum class Kind : std::uint8_t { keepAlive, oneShot, poetry };
enum class Outcome : std::uint8_t { ok, connect, read, write, timeout, non2xx, shortPoem };

// One request: when it started (ms since the run's start), how long it took (to its answer, its failure or its
// deadline) and how it ended. 12 bytes, so a 300 s run at 40,000 requests a second fits in ~150 MB.
struct Record {
  std::uint32_t startMs;
  std::uint32_t latencyUs;
  Kind kind;
  Outcome outcome;
};

// How many failures of each kind, outcome and cause ("Connection reset by peer (104)", "EOF before any byte").
using ErrorDetails = std::map<std::tuple<Kind, Outcome, std::string>, long>;

// Prints the report to stdout; returns whether any request failed. seconds: the run's length (the timeline's span).
bool report(const std::deque<Record>& records, const ErrorDetails& details, double seconds);

// Every record as CSV (start_ms,latency_us,kind,outcome); throws std::runtime_error naming the file on failure.
void writeRecords(const std::string& path, const std::deque<Record>& records);

}  // namespace reload_load
