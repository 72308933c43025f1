#include "plugin/plugin_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cppd/version.hpp>
#include <cstdlib>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <vector>

#include "posix/directory_entry.hpp"
#include "logging/line_escape.hpp"
#include "posix/text_file.hpp"
#include "posix/unique_fd.hpp"

namespace cppd::runner {
namespace {

constexpr std::string_view header = "cppd-plugin-cache 1";
constexpr std::size_t cacheLimit = std::size_t{16} << 20;  // thousands of plugins; beyond that it is not ours

// FNV-1a, 64 bit: enough to tell a torn or edited file from an intact one (not a security measure: the cache
// directory belongs to the user, and plugins are trust-checked on every run anyway).
std::uint64_t checksumOf(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

std::vector<std::string_view> split(std::string_view line, char separator) {
  std::vector<std::string_view> fields;
  std::size_t start = 0;
  for (;;) {
    auto end = line.find(separator, start);
    fields.push_back(line.substr(start, end - start));
    if (end == std::string_view::npos) return fields;
    start = end + 1;
  }
}

template <typename T>
bool parseNumber(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

std::string parentOf(const std::string& path) { return std::filesystem::path(path).parent_path().string(); }

// One "entry" line: path, identity, then "ok TAPNAME DESCRIPTION" or "error REASON". Strict: false for anything
// else, so a damaged file is dropped as a whole.
bool parseEntry(std::string_view line, std::string& path, FileIdentity& id, ScanResult& result) {
  auto f = split(line, '\t');
  if (f.size() < 8 || f[0] != "entry") return false;
  auto escapedPath = unescapeField(f[1]);
  if (!escapedPath || !parseNumber(f[2], id.device) || !parseNumber(f[3], id.inode) || !parseNumber(f[4], id.size) ||
      !parseNumber(f[5], id.mtimeNs)) {
    return false;
  }
  path = *escapedPath;
  if (f[6] == "ok" && f.size() == 9) {
    auto tapname = unescapeField(f[7]);
    auto description = unescapeField(f[8]);
    if (!tapname || !description) return false;
    result = ScanResult{true, *tapname, *description, {}};
    return true;
  }
  if (f[6] == "error" && f.size() == 8) {
    auto reason = unescapeField(f[7]);
    if (!reason) return false;
    result = ScanResult{};
    result.reason = *reason;
    return true;
  }
  return false;
}

}  // namespace

FileIdentity FileIdentity::of(const struct stat& st) {
  FileIdentity id;
  id.device = static_cast<std::uint64_t>(st.st_dev);
  id.inode = static_cast<std::uint64_t>(st.st_ino);
  id.size = static_cast<std::int64_t>(st.st_size);
  id.mtimeNs = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return id;
}

std::optional<std::string> PluginCache::defaultLocation() {
  if (const char* explicitFile = std::getenv("CPPD_PLUGIN_CACHE")) {
    if (*explicitFile == '\0') return std::nullopt;
    return std::filesystem::absolute(explicitFile).lexically_normal().string();
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/cppd/plugins.cache";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return std::string(home) + "/.cache/cppd/plugins.cache";
  }
  return std::nullopt;
}

std::string PluginCache::currentBinaryIdentity() {
  struct stat st {};
  std::string exe = "unknown";
  if (::stat("/proc/self/exe", &st) == 0) {
    auto id = FileIdentity::of(st);
    exe = fmt::format("{}:{}:{}:{}", id.device, id.inode, id.size, id.mtimeNs);
  }
  return fmt::format("cppd {} abi {} exe {}", CPPD_VERSION_STRING, CPPD_SDK_ABI_VERSION, exe);
}

PluginCache::PluginCache(std::optional<std::string> file, std::string binaryIdentity)
    : file_(std::move(file)), binaryIdentity_(std::move(binaryIdentity)) {}

void PluginCache::load() {
  if (!file_) return;
  // Only a cache this user wrote is believed: a regular file with one link, owned by us, writable by no one
  // else, read from the descriptor that was checked and bounded in size. Anything else means every plugin is
  // scanned again (the listing stays right, only slower).
  std::optional<DirectoryEntry> entry;
  try {
    entry.emplace(*file_);
  } catch (const std::system_error&) {
    return;
  }
  OpenedEntry opened = entry->open(O_RDONLY, 0, OwnFileRules{{::geteuid()}, false});
  if (!opened.fd || (opened.status.st_mode & (S_IWGRP | S_IWOTH)) != 0) return;
  auto text = readTextFile(opened.fd.get(), cacheLimit);
  if (!text || !parse(*text)) entries_.clear();
}

const ScanResult* PluginCache::find(const std::string& path, const FileIdentity& identity) const {
  auto it = entries_.find(path);
  if (it == entries_.end() || !(it->second.identity == identity)) return nullptr;
  return &it->second.result;
}

void PluginCache::put(const std::string& path, const FileIdentity& identity, ScanResult result) {
  entries_[path] = Entry{identity, std::move(result)};
  dirty_ = true;
}

void PluginCache::forgetMissing(const std::set<std::string>& directories, const std::set<std::string>& present) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (directories.count(parentOf(it->first)) != 0 && present.count(it->first) == 0) {
      it = entries_.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
}

std::string PluginCache::serialize() const {
  std::string body = fmt::format("{}\nbinary\t{}\n", header, escapeField(binaryIdentity_));
  for (const auto& [path, entry] : entries_) {
    const auto& id = entry.identity;
    const auto& r = entry.result;
    body += fmt::format("entry\t{}\t{}\t{}\t{}\t{}\t", escapeField(path), id.device, id.inode, id.size, id.mtimeNs);
    body += r.ok ? fmt::format("ok\t{}\t{}\n", escapeField(r.tapname), escapeField(r.description))
                 : fmt::format("error\t{}\n", escapeField(r.reason));
  }
  return body + fmt::format("checksum\t{:016x}\n", checksumOf(body));
}

bool PluginCache::parse(const std::string& text) {
  entries_.clear();
  std::string_view all(text);
  auto checksumAt = all.rfind("checksum\t");
  if (checksumAt == std::string_view::npos) return false;
  std::string_view body = all.substr(0, checksumAt);
  std::uint64_t expected = 0;
  std::string_view trailer = all.substr(checksumAt + 9);
  if (trailer.size() != 17 || trailer.back() != '\n') return false;
  auto [end, ec] = std::from_chars(trailer.data(), trailer.data() + 16, expected, 16);
  if (ec != std::errc() || end != trailer.data() + 16 || expected != checksumOf(body)) return false;

  auto lines = split(body, '\n');
  if (lines.size() < 3 || lines[0] != header || !lines.back().empty()) return false;
  auto binary = split(lines[1], '\t');
  if (binary.size() != 2 || binary[0] != "binary" || unescapeField(binary[1]) != binaryIdentity_) return false;
  std::map<std::string, Entry> parsed;
  for (std::size_t i = 2; i + 1 < lines.size(); ++i) {
    std::string path;
    Entry entry;
    if (!parseEntry(lines[i], path, entry.identity, entry.result)) return false;
    parsed[path] = std::move(entry);
  }
  entries_ = std::move(parsed);
  return true;
}

void PluginCache::save() {
  if (!file_ || !dirty_) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(*file_).parent_path(), ec);
  std::optional<DirectoryEntry> entry;
  try {
    entry.emplace(*file_);
  } catch (const std::system_error&) {
    return;
  }
  // A new file of our own (O_EXCL, O_NOFOLLOW) in the held directory, renamed over the cache there: nothing
  // that another user planted under either name is ever written.
  const std::string temp = fmt::format("{}.{}.tmp", entry->name(), ::getpid());
  UniqueFd fd(::openat(entry->dirFd(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return;
  const std::string text = serialize();
  bool ok = ::fchmod(fd.get(), 0644) == 0;
  for (std::size_t done = 0; ok && done < text.size();) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = (::close(fd.release()) == 0) && ok;
  if (!ok || ::renameat(entry->dirFd(), temp.c_str(), entry->dirFd(), entry->name().c_str()) != 0) {
    ::unlinkat(entry->dirFd(), temp.c_str(), 0);
    return;
  }
  dirty_ = false;
}

}  // namespace cppd::runner
