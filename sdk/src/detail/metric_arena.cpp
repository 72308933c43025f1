#include "detail/metric_arena.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

#include <fmt/core.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <cppd/posix/unique_fd.hpp>

#include "detail/reactor_impl.hpp"

namespace cppd::detail {

static_assert(std::atomic<std::uint64_t>::is_always_lock_free && std::atomic<std::uint32_t>::is_always_lock_free,
              "metrics are shared between processes: their atomics must not hide a lock");

std::atomic<std::uint64_t>* metricValues = nullptr;

namespace {

void appendPart(std::string& key, std::string_view part) {
  key += fmt::format("{}:", part.size());
  key.append(part);
}

void copyInto(char* field, std::uint8_t& length, std::string_view text) {
  std::memcpy(field, text.data(), text.size());
  length = static_cast<std::uint8_t>(text.size());
}

MetricRecord describe(bool counter, std::string_view name, std::string_view help, const MetricLabels& labels) {
  MetricRecord record;
  record.counter = counter ? 1 : 0;
  copyInto(record.name, record.nameLength, name);
  copyInto(record.help, record.helpLength, help);
  record.labelCount = static_cast<std::uint8_t>(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    copyInto(record.labelName[i], record.labelNameLength[i], labels[i].first);
    copyInto(record.labelValue[i], record.labelValueLength[i], labels[i].second);
  }
  return record;
}

// Adds one partition's series into the readings collected so far (by series key).
void collect(const MetricPartition& partition, std::unordered_map<std::string, std::size_t>& at,
             std::vector<MetricReading>& out) {
  const std::uint32_t count = partition.count.load(std::memory_order_acquire);
  for (std::uint32_t i = 0; i < count && i < kMetricSeriesMax; ++i) {
    MetricReading reading = readRecord(partition.records[i], partition.values[i].load(std::memory_order_relaxed));
    const std::string key = metricKey(reading.name, reading.labels);
    const auto [found, inserted] = at.emplace(key, out.size());
    if (inserted) {
      out.push_back(std::move(reading));
      continue;
    }
    MetricReading& sum = out[found->second];
    sum.count += reading.count;
    sum.gauge += reading.gauge;
  }
}

void sortByName(std::vector<MetricReading>& readings) {
  std::stable_sort(readings.begin(), readings.end(),
                   [](const MetricReading& a, const MetricReading& b) { return a.name < b.name; });
}

}  // namespace

std::string metricKey(std::string_view name, const MetricLabels& labels) {
  std::string key;
  appendPart(key, name);
  for (const auto& [label, value] : labels) {
    appendPart(key, label);
    appendPart(key, value);
  }
  return key;
}

MetricReading readRecord(const MetricRecord& record, std::uint64_t value) {
  MetricReading reading;
  reading.counter = record.counter != 0;
  reading.name.assign(record.name, std::min<std::size_t>(record.nameLength, kMetricNameMax));
  reading.help.assign(record.help, std::min<std::size_t>(record.helpLength, kMetricHelpMax));
  for (std::size_t i = 0; i < std::min<std::size_t>(record.labelCount, kMetricLabelsMax); ++i) {
    reading.labels.emplace_back(
        std::string(record.labelName[i], std::min<std::size_t>(record.labelNameLength[i], kMetricLabelNameMax)),
        std::string(record.labelValue[i], std::min<std::size_t>(record.labelValueLength[i], kMetricLabelValueMax)));
  }
  if (reading.counter) reading.count = value;
  else reading.gauge = static_cast<std::int64_t>(value);
  return reading;
}

MetricArena& MetricArena::instance() {
  static MetricArena* arena = new MetricArena();  // never destroyed: handles may count during static teardown
  return *arena;
}

void MetricArena::map(std::size_t partitions, bool shared) {
  const std::size_t bytes = partitions * sizeof(MetricPartition);
  // Private until share(): a process a plugin forks (or the launcher a daemon leaves) must not count into ours.
  // Shared, the memory is a memfd, so that a reload's new image (exec) maps the same partitions the workers of
  // the old one still count into.
  void* memory = nullptr;
  if (shared) {
    posix::UniqueFd fd(::memfd_create("cppd-metrics", MFD_CLOEXEC));
    if (!fd) throw systemError("memfd_create", "the metrics", errno);
    if (::ftruncate(fd.get(), static_cast<off_t>(bytes)) != 0) {
      throw systemError("ftruncate", fmt::format("the metrics ({} bytes)", bytes), errno);
    }
    memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
    sharedFd_ = std::move(fd);
  } else {
    memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  }
  if (memory == MAP_FAILED) throw systemError("mmap", fmt::format("the metrics ({} bytes)", bytes), errno);
  // Zero-filled memory is a valid empty partition: the atomics' object representation is their value.
  install(static_cast<MetricPartition*>(memory), partitions);
}

// Makes fresh (partitions of them) this process's mapping, its partition 0 holding the series counted so far.
void MetricArena::install(MetricPartition* fresh, std::size_t partitions) {
  if (own_ != nullptr && own_ != &fresh[0]) {
    const std::uint32_t count = own_->count.load(std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < count; ++i) {
      fresh[0].values[i].store(own_->values[i].load(std::memory_order_relaxed), std::memory_order_relaxed);
      fresh[0].records[i] = own_->records[i];
    }
    fresh[0].count.store(count, std::memory_order_release);
    // The old mapping is left in place: a thread may be counting into it this instant. Its few hundred KiB are
    // the price of moving once, before the first fork.
  }
  base_ = fresh;
  partitions_ = partitions;
  own_ = &base_[0];
  metricValues = own_->values;
}

std::uint32_t MetricArena::cell(bool counter, std::string_view name, std::string_view help,
                                const MetricLabels& labels) {
  if (own_ == nullptr) map(1, false);
  const std::string key = metricKey(name, labels);
  if (const auto found = index_.find(key); found != index_.end()) {
    const MetricRecord& record = own_->records[found->second];
    if ((record.counter != 0) != counter || std::string_view(record.help, record.helpLength) != help) {
      throw Error(ErrorKind::software, fmt::format("metric {}: already registered as a {} with another help text "
                                                   "or type", name, record.counter != 0 ? "counter" : "gauge"));
    }
    return found->second;
  }
  const std::uint32_t count = own_->count.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < count; ++i) {
    const MetricRecord& record = own_->records[i];
    if (std::string_view(record.name, record.nameLength) != name) continue;
    if ((record.counter != 0) != counter) {
      throw Error(ErrorKind::software, fmt::format("metric {}: already registered as a {}", name,
                                                   record.counter != 0 ? "counter" : "gauge"));
    }
    if (std::string_view(record.help, record.helpLength) != help) {
      throw Error(ErrorKind::software,
                  fmt::format("metric {}: already registered with another help text (every series of a metric "
                              "shares one)", name));
    }
    break;
  }
  if (count >= kMetricSeriesMax) {
    throw Error(ErrorKind::software, fmt::format("metric {}: this process already has the most series it may "
                                                 "have ({}); use fewer label values", name, kMetricSeriesMax));
  }
  index_.emplace(key, count);  // first: if it throws, nothing is published
  own_->records[count] = describe(counter, name, help, labels);
  own_->values[count].store(0, std::memory_order_relaxed);
  own_->count.store(count + 1, std::memory_order_release);
  return count;
}

void MetricArena::share(std::size_t slots) {
  if (shared_ && partitions_ >= slots + 1) return;
  map(slots + 1, true);
  shared_ = true;
}

void MetricArena::adopt(int fd, std::size_t slots) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw systemError("fstat", "the handed-over metrics", errno);
  const auto had = static_cast<std::size_t>(info.st_size) / sizeof(MetricPartition);
  if (had == 0) throw Error(ErrorKind::software, fmt::format("adopt metrics: the handed-over memory holds no "
                                                             "partition ({} bytes)", info.st_size));
  const std::size_t partitions = std::max(had, slots + 1);
  const std::size_t bytes = partitions * sizeof(MetricPartition);
  // Growing leaves the partitions the old workers count into where they are: they keep their smaller mapping.
  if (partitions > had && ::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    throw systemError("ftruncate", "the handed-over metrics", errno);
  }
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) throw systemError("mmap", "the handed-over metrics", errno);
  auto* fresh = static_cast<MetricPartition*>(memory);
  // Partition 0 was the previous image's own: its counters came over as totals (adoptTotals); start it empty.
  fresh[0].count.store(0, std::memory_order_release);
  for (auto& value : fresh[0].values) value.store(0, std::memory_order_relaxed);
  sharedFd_ = posix::UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  ::close(fd);
  install(fresh, partitions);
  shared_ = true;
}

// The totals travel in a memfd mapped here, never through the heap: a partition is a few hundred KiB, and a heap
// that once held it keeps those pages resident for the image's whole life.
int MetricArena::exportTotals() const {
  posix::UniqueFd fd(::memfd_create("cppd-metric-totals", MFD_CLOEXEC));
  if (!fd) throw systemError("memfd_create", "the metric totals", errno);
  if (::ftruncate(fd.get(), sizeof(MetricPartition)) != 0) throw systemError("ftruncate", "the metric totals", errno);
  void* memory = ::mmap(nullptr, sizeof(MetricPartition), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (memory == MAP_FAILED) throw systemError("mmap", "the metric totals", errno);
  auto* partition = static_cast<MetricPartition*>(memory);  // zero-filled: an empty partition
  std::uint32_t count = 0;
  const auto add = [&](const MetricReading& reading) {
    if (!reading.counter || count >= kMetricSeriesMax) return;
    partition->records[count] = describe(true, reading.name, reading.help, reading.labels);
    partition->values[count].store(reading.count, std::memory_order_relaxed);
    ++count;
  };
  // This process's own counters and those of reaped workers: a live worker's partition stays in the shared
  // memory, where the next image reads it.
  if (own_ != nullptr) {
    const std::uint32_t own = own_->count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < own && i < kMetricSeriesMax; ++i) {
      add(readRecord(own_->records[i], own_->values[i].load(std::memory_order_relaxed)));
    }
  }
  for (const auto& [key, reading] : retained_) add(reading);
  partition->count.store(count, std::memory_order_relaxed);
  ::munmap(memory, sizeof(MetricPartition));
  return fd.release();
}

void MetricArena::adoptTotals(int fd) {
  posix::UniqueFd owned(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0 || static_cast<std::size_t>(info.st_size) != sizeof(MetricPartition)) {
    throw Error(ErrorKind::software, fmt::format("adopt metric totals: {} bytes, not the {} of this version",
                                                 info.st_size, sizeof(MetricPartition)));
  }
  void* memory = ::mmap(nullptr, sizeof(MetricPartition), PROT_READ, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) throw systemError("mmap", "the metric totals", errno);
  const auto* partition = static_cast<const MetricPartition*>(memory);
  const std::uint32_t count = std::min<std::uint32_t>(partition->count.load(), kMetricSeriesMax);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (partition->records[i].counter == 0) continue;
    MetricReading reading = readRecord(partition->records[i], partition->values[i].load());
    const std::string key = metricKey(reading.name, reading.labels);
    const auto [found, inserted] = retained_.emplace(key, reading);
    if (!inserted) found->second.count += reading.count;
  }
  ::munmap(memory, sizeof(MetricPartition));
}

void MetricArena::use(std::size_t slot) noexcept {
  MetricPartition* mine = nullptr;
  if (slot + 1 < partitions_) {
    mine = &base_[slot + 1];
  } else {
    // More workers than the mapping was sized for (SIGTTIN): this worker counts, but only for itself.
    mine = static_cast<MetricPartition*>(
        ::mmap(nullptr, sizeof(MetricPartition), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (mine == MAP_FAILED) return;  // it keeps counting into the supervisor's partition
    runGuarded("metrics", [slot] { log::warn("worker slot {}: beyond the shared metrics; its numbers are not "
                                             "collected", slot); });
  }
  const std::uint32_t count = own_ != nullptr ? own_->count.load(std::memory_order_relaxed) : 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    mine->records[i] = own_->records[i];
    mine->values[i].store(0, std::memory_order_relaxed);
  }
  mine->count.store(count, std::memory_order_release);
  own_ = mine;
  metricValues = own_->values;
}

void MetricArena::fold(std::size_t slot) noexcept {
  if (slot + 1 >= partitions_) return;
  MetricPartition& gone = base_[slot + 1];
  const std::uint32_t count = gone.count.load(std::memory_order_acquire);
  runGuarded("fold metrics", [&] {
    for (std::uint32_t i = 0; i < count && i < kMetricSeriesMax; ++i) {
      if (gone.records[i].counter == 0) continue;  // a dead worker's gauges (its open connections) are 0
      MetricReading reading = readRecord(gone.records[i], gone.values[i].load(std::memory_order_relaxed));
      const std::string key = metricKey(reading.name, reading.labels);
      const auto [found, inserted] = retained_.emplace(key, reading);
      if (!inserted) found->second.count += reading.count;
    }
  });
  gone.count.store(0, std::memory_order_release);
  for (auto& value : gone.values) value.store(0, std::memory_order_relaxed);
}

std::vector<MetricReading> MetricArena::read() const {
  std::vector<MetricReading> out;
  std::unordered_map<std::string, std::size_t> at;
  if (own_ != nullptr) collect(*own_, at, out);
  if (own_ == base_) {  // the supervisor (or the single process): the workers' partitions too
    for (std::size_t p = 1; p < partitions_; ++p) collect(base_[p], at, out);
  }
  for (const auto& [key, reading] : retained_) {
    const auto [found, inserted] = at.emplace(key, out.size());
    if (inserted) out.push_back(reading);
    else out[found->second].count += reading.count;
  }
  sortByName(out);
  return out;
}

std::vector<MetricReading> MetricArena::readSlot(std::size_t slot) const {
  std::vector<MetricReading> out;
  if (slot + 1 >= partitions_) return out;
  std::unordered_map<std::string, std::size_t> at;
  collect(base_[slot + 1], at, out);
  return out;
}

}  // namespace cppd::detail
