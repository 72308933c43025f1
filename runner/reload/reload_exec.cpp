#include "reload/reload_exec.hpp"

#include <unistd.h>

#include <cmath>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/worker.hpp>

#include "reload/process_image.hpp"

namespace cppd::runner {

std::string reloadRefusal(const ServerOptions& o) {
  if (o.chroot) {
    return fmt::format("a reload cannot run under --chroot {} (the cppd binary and its plugins are outside it); "
                       "restart instead", *o.chroot);
  }
  if (ProcessImage::current().binary().empty()) return "the path of the cppd binary is not known";
  return {};
}

ReloadCheck checkReload(const ServerOptions& o) {
  const ProcessImage& image = ProcessImage::current();
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(std::ceil(o.reloadTimeout * 1000)));
  return ReloadCheck::run(image.binary(), image.args(), image.launchDir(), timeout);
}

std::string execReload(Handover& handover, const ServerOptions& o, const PidFile* pidFile,
                       const SystemdNotifier& notifier, double startTime, std::int64_t startedNs) {
  if (std::string refusal = reloadRefusal(o); !refusal.empty()) return refusal;
  handover.startTime = startTime;
  handover.startMonotonicNs = startedNs;
  handover.pidFileFd = pidFile ? pidFile->fd() : -1;
  handover.listeners = detail::listenersToHandOver();
  handover.metricsFd = detail::sharedMetricsFd();
  try {
    handover.totalsFd = detail::exportMetricTotals();
  } catch (const Error& e) {
    return e.what();
  }
  std::string failure = ProcessImage::current().exec(handover, notifier.environment());
  ::close(handover.totalsFd);
  handover.totalsFd = -1;
  return failure;
}

}  // namespace cppd::runner
