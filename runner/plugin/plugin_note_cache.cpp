#include "plugin/plugin_note_cache.hpp"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <cppd/posix/unique_fd.hpp>

#include "plugin/plugin_note.hpp"

namespace cppd::runner {
namespace {

constexpr std::string_view magic = "cppd plugin note cache 1\n";
constexpr const char* fileName = "plugin-notes";
constexpr std::size_t maxFileSize = 4 << 20;
constexpr std::uint32_t maxEntries = 8192;
constexpr std::uint32_t maxTapname = 255;
constexpr std::uint32_t maxDescription = 16 * 1024;
constexpr std::uint32_t maxIdentity = 256;
// How old a ctime must be before a later change is sure to give another one: far above the kernel's clock tick
// (at most 10 ms) where the file system keeps nanoseconds, and above two seconds where it keeps whole seconds
// (ext4 with small inodes, vfat, some NFS servers), which a ctime without a fraction gives away.
constexpr std::int64_t settledFineNs = 100'000'000;
constexpr std::int64_t settledCoarseNs = 3'000'000'000;

// A timestamp as one number for the key: wraps (defined, in unsigned arithmetic) rather than overflows for
// dates past 2262, which only makes such a file miss more often.
std::int64_t nanoseconds(const struct timespec& t) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u +
                                   static_cast<std::uint64_t>(t.tv_nsec));
}

// Whether the file's last change (ctime) is old enough that any change after it shows in the key.
bool settled(const struct timespec& ctime) {
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::int64_t margin = ctime.tv_nsec == 0 ? settledCoarseNs : settledFineNs;
  const std::int64_t age = (static_cast<std::int64_t>(now.tv_sec) - static_cast<std::int64_t>(ctime.tv_sec)) *
                               1'000'000'000 +
                           (now.tv_nsec - ctime.tv_nsec);
  return ctime.tv_sec <= now.tv_sec && age >= margin;
}

// The bytes an entry takes in the file.
std::size_t encodedSize(const PluginNoteCache::Entry& e) { return 5 * 8 + 2 * 4 + e.tapname.size() + e.description.size(); }

bool sameKey(const PluginNoteCache::Entry& e, const struct stat& st) {
  return e.device == st.st_dev && e.inode == st.st_ino && e.size == static_cast<std::uint64_t>(st.st_size) &&
         e.mtimeNs == nanoseconds(st.st_mtim) && e.ctimeNs == nanoseconds(st.st_ctim);
}

bool keyLess(const PluginNoteCache::Entry& e, std::pair<std::uint64_t, std::uint64_t> key) {
  return std::pair(e.device, e.inode) < key;
}

// The directory holding the cache, or empty when there is no absolute $XDG_CACHE_HOME or $HOME.
std::string cacheDirectory() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && xdg[0] == '/') return std::string(xdg) + "/cppd";
  const char* home = std::getenv("HOME");
  if (home != nullptr && home[0] == '/') return std::string(home) + "/.cache/cppd";
  return {};
}

// Owned by the euid and writable by no one else: only then are its contents the user's own.
bool ownedAndPrivate(const struct stat& st) {
  return st.st_uid == ::geteuid() && (st.st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

// Opens the directory at path with no symbolic link anywhere on the way (openat2 RESOLVE_NO_SYMLINKS): root given
// another user's HOME must not follow a link that user planted (~/.cache -> /etc) to a place of root's own.
posix::UniqueFd openWithoutLinks(const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return posix::UniqueFd(static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how)));
}

// The directory at path, held, when it is the user's own (checked on the descriptor); missing says whether it
// is simply not there yet.
posix::UniqueFd openOwnDirectory(const std::string& path, bool* missing = nullptr) {
  posix::UniqueFd fd = openWithoutLinks(path);
  if (missing != nullptr) *missing = !fd && errno == ENOENT;
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !ownedAndPrivate(st)) return {};
  return fd;
}

// The cache directory inside its held, checked parent, made there when missing.
posix::UniqueFd makeOwnDirectoryIn(int parent, const char* name) {
  ::mkdirat(parent, name, 0700);  // or it exists: what is there is checked next
  posix::UniqueFd fd(::openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !ownedAndPrivate(st)) return {};
  return fd;
}

// The running binary, as the header names it: a cache another cppd wrote is not used. Its GNU build ID, read
// from its own loaded program headers (no system call, and the same under valgrind), else the status of the
// executable's file.
int findBuildId(struct dl_phdr_info* info, std::size_t, void* data) {
  auto* id = static_cast<std::string*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* at = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    std::size_t left = ph.p_memsz;
    while (left >= sizeof(ElfW(Nhdr))) {
      ElfW(Nhdr) note;
      std::memcpy(&note, at, sizeof note);
      const std::size_t name = (note.n_namesz + 3) & ~std::size_t{3};
      const std::size_t desc = (note.n_descsz + 3) & ~std::size_t{3};
      if (name + desc > left - sizeof note) break;
      if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 && std::memcmp(at + sizeof note, "GNU", 4) == 0) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(at + sizeof note + name);
        for (std::size_t k = 0; k < note.n_descsz; ++k) *id += fmt::format("{:02x}", bytes[k]);
        return 1;
      }
      at += sizeof note + name + desc;
      left -= sizeof note + name + desc;
    }
  }
  return 1;  // the first object is the program itself: stop there
}

std::string binaryIdentity() {
  std::string id;
  ::dl_iterate_phdr(findBuildId, &id);
  if (!id.empty()) return "build-id " + id;
  struct stat st {};
  if (::stat("/proc/self/exe", &st) != 0) return {};
  return fmt::format("file {}:{}:{}:{}:{}", st.st_dev, st.st_ino, st.st_size, nanoseconds(st.st_mtim),
                     nanoseconds(st.st_ctim));
}

void putWord(std::string& out, std::uint32_t value) { out.append(reinterpret_cast<const char*>(&value), 4); }
void putWide(std::string& out, std::uint64_t value) { out.append(reinterpret_cast<const char*>(&value), 8); }
void putText(std::string& out, std::string_view text) {
  putWord(out, static_cast<std::uint32_t>(text.size()));
  out.append(text);
}

// Reads front to back; any read past the end or over a bound fails the whole cache.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  bool word(std::uint32_t& out) { return take(&out, 4); }
  bool wide(std::uint64_t& out) { return take(&out, 8); }
  bool text(std::string_view& out, std::uint32_t limit) {
    std::uint32_t size = 0;
    if (!word(size) || size > limit || size > rest_.size()) return false;
    out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return true;
  }
  bool done() const noexcept { return rest_.empty(); }

 private:
  bool take(void* out, std::size_t size) {
    if (rest_.size() < size) return false;
    std::memcpy(out, rest_.data(), size);
    rest_.remove_prefix(size);
    return true;
  }

  std::string_view rest_;
};

}  // namespace

std::string PluginNoteCache::encode(std::string_view identity, const std::vector<Entry>& entries) {
  std::string out(magic);
  putText(out, identity);
  putWord(out, static_cast<std::uint32_t>(entries.size()));
  for (const Entry& e : entries) {
    putWide(out, e.device);
    putWide(out, e.inode);
    putWide(out, e.size);
    putWide(out, static_cast<std::uint64_t>(e.mtimeNs));
    putWide(out, static_cast<std::uint64_t>(e.ctimeNs));
    putText(out, e.tapname);
    putText(out, e.description);
  }
  return out;
}

std::optional<std::vector<PluginNoteCache::Entry>> PluginNoteCache::decode(std::string_view bytes,
                                                                           std::string_view identity) {
  if (bytes.size() > maxFileSize || bytes.substr(0, magic.size()) != magic) return std::nullopt;
  Reader reader(bytes.substr(magic.size()));
  std::string_view written;
  std::uint32_t count = 0;
  if (!reader.text(written, maxIdentity) || written != identity || !reader.word(count) || count > maxEntries) {
    return std::nullopt;
  }
  std::vector<Entry> entries;
  entries.reserve(std::min<std::size_t>(count, bytes.size() / 48));  // an entry takes at least 48 bytes
  for (std::uint32_t i = 0; i < count; ++i) {
    Entry e;
    std::uint64_t mtime = 0;
    std::uint64_t ctime = 0;
    std::string_view tapname;
    std::string_view description;
    if (!reader.wide(e.device) || !reader.wide(e.inode) || !reader.wide(e.size) || !reader.wide(mtime) ||
        !reader.wide(ctime) || !reader.text(tapname, maxTapname) || !reader.text(description, maxDescription)) {
      return std::nullopt;
    }
    // What the listing shows passes the checks a note's text does, whoever wrote these bytes.
    if (!tapnameProblem(tapname).empty() || !noteTextProblem(description).empty()) return std::nullopt;
    e.mtimeNs = static_cast<std::int64_t>(mtime);
    e.ctimeNs = static_cast<std::int64_t>(ctime);
    e.tapname = tapname;
    e.description = description;
    entries.push_back(std::move(e));
  }
  if (!reader.done()) return std::nullopt;
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::pair(a.device, a.inode) < std::pair(b.device, b.inode); });
  // One entry per file: a second one for the same inode means the bytes were not written by save().
  const auto same = [](const Entry& a, const Entry& b) { return a.device == b.device && a.inode == b.inode; };
  if (std::adjacent_find(entries.begin(), entries.end(), same) != entries.end()) return std::nullopt;
  return entries;
}

PluginNoteCache PluginNoteCache::load() {
  PluginNoteCache cache;
  cache.directory_ = cacheDirectory();
  cache.identity_ = binaryIdentity();
  if (cache.directory_.empty() || cache.identity_.empty()) return cache;
  bool missing = false;
  posix::UniqueFd dir = openOwnDirectory(cache.directory_, &missing);
  if (!dir) {
    cache.enabled_ = missing;  // not there yet: save() makes it; there but not the user's own: never used
    return cache;
  }
  cache.enabled_ = true;
  posix::UniqueFd fd(::openat(dir.get(), fileName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || !ownedAndPrivate(st) ||
      st.st_size > static_cast<off_t>(maxFileSize)) {
    return cache;
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::pread(fd.get(), bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
    if (n <= 0) return cache;
    got += static_cast<std::size_t>(n);
  }
  if (auto entries = decode(bytes, cache.identity_)) cache.entries_ = std::move(*entries);
  return cache;
}

const PluginNoteCache::Entry* PluginNoteCache::find(const struct stat& st) {
  if (!enabled_) return nullptr;
  const std::pair<std::uint64_t, std::uint64_t> key(st.st_dev, st.st_ino);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key, keyLess);
  if (it == entries_.end() || !sameKey(*it, st)) return nullptr;
  it->seen = true;
  return &*it;
}

void PluginNoteCache::remember(const struct stat& st, const std::string& tapname, const std::string& description) {
  if (!enabled_ || !settled(st.st_ctim)) return;  // changed too recently to be sure of
  // What decode() would refuse is not written: a whole cache refused on every load would be read and rewritten
  // by every listing.
  if (tapname.size() > maxTapname || description.size() > maxDescription) return;
  const std::pair<std::uint64_t, std::uint64_t> key(st.st_dev, st.st_ino);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), key, keyLess);
  if (it == entries_.end() || std::pair(it->device, it->inode) != key) it = entries_.insert(it, Entry{});
  *it = Entry{st.st_dev, st.st_ino, static_cast<std::uint64_t>(st.st_size), nanoseconds(st.st_mtim),
              nanoseconds(st.st_ctim), tapname, description, true};
  changed_ = true;
}

void PluginNoteCache::save() {
  if (!enabled_ || !changed_) return;
  changed_ = false;
  // The entries this run used first; older ones (other directories' plugins) while there is room.
  std::vector<Entry> kept;
  std::size_t size = magic.size() + 4 + identity_.size() + 4;
  for (bool seen : {true, false}) {
    for (const Entry& e : entries_) {
      if (e.seen != seen || kept.size() == maxEntries || size + encodedSize(e) > maxFileSize) continue;
      size += encodedSize(e);
      kept.push_back(e);
    }
  }
  // Made only inside a directory of the user's own, reached without a symbolic link and held from the check on:
  // root given another user's HOME (sudo) must not write there, nor where a link planted there leads.
  const std::string parent = directory_.substr(0, directory_.rfind('/'));
  posix::UniqueFd base = openOwnDirectory(parent);
  if (!base) {
    const std::string home = parent.substr(0, std::max<std::size_t>(parent.rfind('/'), 1));
    posix::UniqueFd above = openOwnDirectory(home);  // $HOME/.cache may not exist yet
    if (!above) return;
    base = makeOwnDirectoryIn(above.get(), parent.substr(parent.rfind('/') + 1).c_str());
    if (!base) return;
  }
  posix::UniqueFd dir = makeOwnDirectoryIn(base.get(), "cppd");
  if (!dir) return;
  const std::string temporary = fmt::format("{}.{}", fileName, ::getpid());
  ::unlinkat(dir.get(), temporary.c_str(), 0);  // left by a run with this PID that stopped half way
  posix::UniqueFd fd(::openat(dir.get(), temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return;
  const std::string bytes = encode(identity_, kept);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done != bytes.size() || ::close(fd.release()) != 0 ||
      ::renameat(dir.get(), temporary.c_str(), dir.get(), fileName) != 0) {
    ::unlinkat(dir.get(), temporary.c_str(), 0);
  }
}

}  // namespace cppd::runner
