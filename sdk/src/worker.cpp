#include <cppd/worker.hpp>

#include <fmt/format.h>

#include <functional>
#include <string>

#include "detail/log_tag.hpp"
#include "detail/metric_arena.hpp"
#include "detail/process_role.hpp"
#include "detail/reactor_impl.hpp"
#include "detail/reuse_port_group.hpp"

namespace cppd {
namespace detail {
namespace {
unsigned currentWorker = 0;
}

std::uint64_t acceptedTotal = 0;
std::uint64_t acceptLimit = 0;
bool ownsListenerPaths = true;

namespace {
std::function<void()> acceptLimitReached;
}

bool acceptsExhausted() noexcept {
  if (acceptLimit == 0 || acceptedTotal < acceptLimit) return false;
  if (acceptLimitReached) {
    auto hook = std::move(acceptLimitReached);
    acceptLimitReached = nullptr;
    runGuarded("accept limit", hook);
  }
  return true;
}

void limitAccepts(std::uint64_t count, std::function<void()> reached) {
  acceptLimit = count;
  acceptLimitReached = std::move(reached);
}

void prepareWorkers(unsigned workers, bool reusePort) {
  setReusePortSockets(reusePort ? workers : 0);
  // The supervisor's board hands out the lowest free slot: the workers, their replacements while they retire,
  // and a few more added by SIGTTIN fit; a worker beyond counts only for itself.
  MetricArena::instance().share(2 * static_cast<std::size_t>(workers) + 8);
}

void prepareReloadedWorkers(unsigned workers, bool reusePort, int metricsFd, int totalsFd) {
  setReusePortSockets(reusePort ? workers : 0);
  MetricArena::instance().adopt(metricsFd, 2 * static_cast<std::size_t>(workers) + 8);
  if (totalsFd >= 0) MetricArena::instance().adoptTotals(totalsFd);
}

int sharedMetricsFd() noexcept { return MetricArena::instance().sharedFd(); }

int exportMetricTotals() { return MetricArena::instance().exportTotals(); }

void becomeWorker(unsigned id) {
  currentWorker = id;
  ownsListenerPaths = false;
  adoptReusePortSockets(id);
  setLogTag(fmt::format("w{}", id));  // not "w" + to_string: GCC 12 -O3 warns (-Wrestrict) falsely
}

}  // namespace detail

unsigned workerId() noexcept { return detail::currentWorker; }

std::uint64_t acceptedConnections() noexcept { return detail::acceptedTotal; }

}  // namespace cppd
