#pragma once

// Helpers shared by the runner's unit tests: a temporary directory and a log capture.

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <cppd/log.hpp>

namespace cppd::test {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cppd-runner-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

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
