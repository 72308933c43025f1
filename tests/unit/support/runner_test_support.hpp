#pragma once

// Helpers shared by the runner's unit tests: reading and writing whole files, a log capture, and (temp_dir.hpp)
// a temporary directory.

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <cppd/log.hpp>

#include "unit/support/temp_dir.hpp"

namespace cppd::test {

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void spit(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

/// Captures log text for the lifetime of the object (and leaves the log with no observer).
class LogCapture {
 public:
  struct Observer : ILogObserver {
    void observe(const LogEvent& event) override { lines.push_back(std::string(event.text)); }
    std::vector<std::string> lines;
  };
  LogCapture() : observer_(std::make_shared<Observer>()) {
    log::reset();
    log::addObserver(observer_);
  }
  ~LogCapture() { log::reset(); }
  const std::vector<std::string>& lines() const { return observer_->lines; }
  bool contains(const std::string& fragment) const {
    for (const auto& line : observer_->lines) {
      if (line.find(fragment) != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::shared_ptr<Observer> observer_;
};

}  // namespace cppd::test
