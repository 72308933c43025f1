#include "process/descriptor_limit.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include <cppd/log.hpp>

namespace cppd::runner {
namespace {

// fs.nr_open: the ceiling for RLIMIT_NOFILE (setrlimit refuses RLIM_INFINITY with EPERM).
std::optional<rlim_t> kernelDescriptorCeiling() {
  std::FILE* file = std::fopen("/proc/sys/fs/nr_open", "re");
  if (file == nullptr) return std::nullopt;
  unsigned long long value = 0;
  const bool read = std::fscanf(file, "%llu", &value) == 1;
  std::fclose(file);
  if (!read) return std::nullopt;
  return static_cast<rlim_t>(value);
}

}  // namespace

rlim_t raiseDescriptorLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    log::warn("file descriptor limit: unknown (getrlimit RLIMIT_NOFILE: {})", std::strerror(errno));
    return 0;
  }
  rlim_t wanted = limit.rlim_max;
  if (wanted == RLIM_INFINITY) wanted = kernelDescriptorCeiling().value_or(limit.rlim_cur);
  if (wanted > limit.rlim_cur) {
    struct rlimit raised = limit;
    raised.rlim_cur = wanted;
    if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
      log::warn("file descriptor limit: {} (raising it to {} failed: setrlimit RLIMIT_NOFILE: {})", limit.rlim_cur,
                wanted, std::strerror(errno));
      return limit.rlim_cur;
    }
    limit.rlim_cur = wanted;
  }
  log::info("file descriptor limit: {}", limit.rlim_cur);
  return limit.rlim_cur;
}

}  // namespace cppd::runner
