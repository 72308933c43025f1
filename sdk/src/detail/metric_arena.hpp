#pragma once

// Where the counters of cppd/metrics.hpp live. One mapping of partitions, each the memory of one process: the
// single process (or the supervisor) counts into partition 0, the worker on board slot i into partition i + 1.
// Under --workers the mapping is shared and anonymous, made before the first fork (share()), so the supervisor
// reads every worker's numbers without a system call and keeps a dead worker's counters (fold()).
//
// A partition holds the values (contiguous, for cheap counting) and one record per series that says what it is
// (type, name, help, labels). A worker registers series after the fork; the supervisor learns them from the
// records, which their writer publishes by storing the partition's count with release order after filling them.
// Only the owning process writes a partition's records; only the supervisor clears a partition, after its
// worker has been reaped and before the slot is used again.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <cppd/metrics.hpp>
#include <cppd/posix/unique_fd.hpp>

namespace cppd::detail {

struct MetricRecord {
  std::uint8_t counter = 0;
  std::uint8_t labelCount = 0;
  std::uint8_t nameLength = 0;
  std::uint8_t helpLength = 0;
  std::uint8_t labelNameLength[kMetricLabelsMax]{};
  std::uint8_t labelValueLength[kMetricLabelsMax]{};
  char name[kMetricNameMax]{};
  char help[kMetricHelpMax]{};
  char labelName[kMetricLabelsMax][kMetricLabelNameMax]{};
  char labelValue[kMetricLabelsMax][kMetricLabelValueMax]{};
};

struct MetricPartition {
  std::atomic<std::uint32_t> count{0};  // records published (release); values past it are unused
  std::atomic<std::uint64_t> values[kMetricSeriesMax];  // a gauge stores its int64 two's complement
  MetricRecord records[kMetricSeriesMax];
};

/// The values the handles count into: the calling process's partition. Never null once a series exists.
extern std::atomic<std::uint64_t>* metricValues;

class MetricArena {
 public:
  static MetricArena& instance();

  /// The cell of name{labels} (labels sorted), registered when new. Validation is the caller's; throws
  /// cppd::Error when the type or help differ from an earlier registration or the series limit is reached.
  std::uint32_t cell(bool counter, std::string_view name, std::string_view help, const MetricLabels& labels);

  /// Before the first fork: moves the series into a shared mapping with room for slots worker partitions.
  /// Throws cppd::Error naming mmap.
  void share(std::size_t slots);
  /// In a reload's new image, instead of share(): maps the shared memory the previous image handed over (fd, which
  /// it takes), grown to room for slots worker partitions; the old workers' partitions stay as they are. Throws
  /// cppd::Error naming the step that failed.
  void adopt(int fd, std::size_t slots);
  /// The shared memory's descriptor (close-on-exec), -1 before share()/adopt().
  int sharedFd() const noexcept { return sharedFd_.get(); }
  /// Before a reload's exec: a new memfd (close-on-exec) holding the counters only this image knows (its own and
  /// those of reaped workers), in one partition's layout. Throws cppd::Error.
  int exportTotals() const;
  /// In the new image: adds the totals exportTotals() wrote to the reaped workers' counters (takes fd).
  void adoptTotals(int fd);
  /// In a worker after fork: counts into slot's partition (a private one when slot is beyond the mapping), which
  /// starts with the series the supervisor had, at zero.
  void use(std::size_t slot) noexcept;
  /// In the supervisor, after slot's worker was reaped: keeps its counters and clears the partition.
  void fold(std::size_t slot) noexcept;

  /// Everything: this process's partition, every worker partition and the counters of workers that have gone.
  std::vector<MetricReading> read() const;
  /// One worker's partition.
  std::vector<MetricReading> readSlot(std::size_t slot) const;

  /// Bytes the mapping takes (virtual).
  std::size_t mappedBytes() const noexcept { return partitions_ * sizeof(MetricPartition); }

 private:
  MetricArena() = default;
  void map(std::size_t partitions, bool shared);
  void install(MetricPartition* fresh, std::size_t partitions);
  MetricPartition& own() noexcept { return *own_; }

  MetricPartition* base_ = nullptr;  // partitions_ partitions: 0 for this process (or the supervisor), then slots
  std::size_t partitions_ = 0;
  bool shared_ = false;
  posix::UniqueFd sharedFd_;  // the shared mapping's memfd
  MetricPartition* own_ = nullptr;  // where this process counts
  std::unordered_map<std::string, std::uint32_t> index_;  // series key -> cell, this process's
  std::map<std::string, MetricReading> retained_;         // counters of reaped workers, by series key
};

/// A series' identity: name and labels, length-prefixed so that no two differ only in where a byte sits.
std::string metricKey(std::string_view name, const MetricLabels& labels);
/// The reading a published record describes, with value.
MetricReading readRecord(const MetricRecord& record, std::uint64_t value);

}  // namespace cppd::detail
