#include "workers/worker_count.hpp"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include <fmt/core.h>

#include <cppd/error.hpp>

namespace cppd::runner {
namespace {

// The cgroup v2 path of this process ("/system.slice/x.service"), or empty outside a v2 hierarchy.
std::string cgroupPath() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return {};
}

// The smallest CPU quota ("200000 100000" -> 2 CPUs, rounded up) on the way from the cgroup to the root.
std::optional<unsigned> cgroupQuota() {
  std::string path = cgroupPath();
  if (path.empty()) return std::nullopt;
  std::optional<unsigned> smallest;
  for (;;) {
    std::ifstream in("/sys/fs/cgroup" + (path == "/" ? std::string() : path) + "/cpu.max");
    std::string quota;
    long long period = 0;
    if (in >> quota >> period && quota != "max" && period > 0) {
      const long long q = std::atoll(quota.c_str());
      if (q > 0) {
        const auto cpus = static_cast<unsigned>(std::max(1.0, std::ceil(static_cast<double>(q) / period)));
        smallest = smallest ? std::min(*smallest, cpus) : cpus;
      }
    }
    if (path.empty() || path == "/") break;
    const std::size_t slash = path.rfind('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
  return smallest;
}

}  // namespace

unsigned availableCpus() {
  unsigned cpus = 1;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = std::max(1, CPU_COUNT(&set));
  if (const auto quota = cgroupQuota()) cpus = std::min(cpus, *quota);
  return std::clamp(cpus, 1u, kMaxWorkers);
}

unsigned parseWorkerCount(std::string_view text) {
  if (text == "auto") return availableCpus();
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 1 || value > kMaxWorkers) {
    throw UsageError(fmt::format("--workers: '{}' is not a number of workers ({}-{}) or 'auto'", text, 1,
                                 kMaxWorkers));
  }
  return value;
}

}  // namespace cppd::runner
