#include "plugin/plugin_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using cppd::runner::FileIdentity;
using cppd::runner::PluginCache;
using cppd::runner::ScanResult;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "cppd-cache-XXXXXX").string();
    path = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add);
    fs::remove_all(path);
  }
};

FileIdentity identity(std::int64_t size, std::int64_t mtime) { return FileIdentity{1, 2, size, mtime}; }

ScanResult ok(std::string tapname, std::string description) { return ScanResult{true, tapname, description, {}}; }

ScanResult failed(std::string reason) {
  ScanResult r;
  r.reason = std::move(reason);
  return r;
}

std::string readAll(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("The plugin cache round-trips entries through its file", "[plugin][cache]") {
  TempDir dir;
  auto file = (dir.path / "sub" / "plugins.cache").string();
  {
    PluginCache cache(file, "cppd test");
    cache.put("/p/hello.so", identity(10, 100), ok("hello", "Says\thello\nto you \\ all."));
    cache.put("/p/bad.so", identity(20, 200), failed("crashed while loading: signal 11 (Segmentation fault)"));
    cache.save();
  }
  PluginCache cache(file, "cppd test");
  cache.load();
  REQUIRE(cache.size() == 2);
  const ScanResult* hello = cache.find("/p/hello.so", identity(10, 100));
  REQUIRE(hello != nullptr);
  CHECK(hello->ok);
  CHECK(hello->tapname == "hello");
  CHECK(hello->description == "Says\thello\nto you \\ all.");
  const ScanResult* bad = cache.find("/p/bad.so", identity(20, 200));
  REQUIRE(bad != nullptr);
  CHECK_FALSE(bad->ok);
  CHECK(bad->reason == "crashed while loading: signal 11 (Segmentation fault)");
}

TEST_CASE("A changed plugin file misses the cache", "[plugin][cache]") {
  PluginCache cache(std::nullopt, "cppd test");
  cache.put("/p/hello.so", identity(10, 100), ok("hello", "d"));
  CHECK(cache.find("/p/hello.so", identity(10, 100)) != nullptr);
  CHECK(cache.find("/p/hello.so", identity(11, 100)) == nullptr);
  CHECK(cache.find("/p/hello.so", identity(10, 101)) == nullptr);
  CHECK(cache.find("/p/hello.so", FileIdentity{1, 3, 10, 100}) == nullptr);
}

TEST_CASE("Deleted plugin files are dropped from the cache", "[plugin][cache]") {
  PluginCache cache(std::nullopt, "cppd test");
  cache.put("/p/hello.so", identity(10, 100), ok("hello", "d"));
  cache.put("/p/gone.so", identity(10, 100), ok("gone", "d"));
  cache.put("/q/other.so", identity(10, 100), ok("other", "d"));
  cache.forgetMissing({"/p"}, {"/p/hello.so"});
  CHECK(cache.size() == 2);
  CHECK(cache.find("/p/gone.so", identity(10, 100)) == nullptr);
  CHECK(cache.find("/q/other.so", identity(10, 100)) != nullptr);  // not searched this time: kept
}

TEST_CASE("A corrupt, truncated or foreign cache file is not trusted", "[plugin][cache]") {
  PluginCache writer(std::nullopt, "cppd test");
  writer.put("/p/hello.so", identity(10, 100), ok("hello", "d"));
  std::string good = writer.serialize();

  PluginCache reader(std::nullopt, "cppd test");
  CHECK(reader.parse(good));
  CHECK(reader.size() == 1);

  std::string flipped = good;
  flipped[flipped.find("hello")] = 'j';
  CHECK_FALSE(reader.parse(flipped));
  CHECK(reader.size() == 0);
  CHECK_FALSE(reader.parse(good.substr(0, good.size() / 2)));
  CHECK_FALSE(reader.parse(""));
  CHECK_FALSE(reader.parse("garbage\n"));

  PluginCache otherBinary(std::nullopt, "cppd other");
  CHECK_FALSE(otherBinary.parse(good));
}

TEST_CASE("A corrupt cache file on disk is ignored and replaced", "[plugin][cache]") {
  TempDir dir;
  auto file = dir.path / "plugins.cache";
  std::ofstream(file) << "cppd-plugin-cache 1\nbinary\tcppd test\nentry\tnonsense\nchecksum\t0000000000000000\n";
  PluginCache cache(file.string(), "cppd test");
  cache.load();
  CHECK(cache.size() == 0);
  cache.put("/p/hello.so", identity(1, 1), ok("hello", "d"));
  cache.save();
  PluginCache again(file.string(), "cppd test");
  again.load();
  CHECK(again.size() == 1);
}

TEST_CASE("A cache in a read-only directory is silently not written", "[plugin][cache]") {
  TempDir dir;
  fs::permissions(dir.path, fs::perms::owner_read | fs::perms::owner_exec, fs::perm_options::replace);
  // root writes through directory permissions, so it also tries a place nobody can write: /proc.
  for (std::string file : {(dir.path / "plugins.cache").string(), std::string("/proc/cppd-test/plugins.cache")}) {
    PluginCache cache(file, "cppd test");
    cache.load();
    cache.put("/p/hello.so", identity(1, 1), ok("hello", "d"));
    CHECK_NOTHROW(cache.save());
    CHECK(cache.find("/p/hello.so", identity(1, 1)) != nullptr);
  }
  CHECK_FALSE(fs::exists("/proc/cppd-test"));
  if (::geteuid() != 0) CHECK(fs::is_empty(dir.path));
}

TEST_CASE("Saving an unchanged cache does not rewrite the file", "[plugin][cache]") {
  TempDir dir;
  auto file = dir.path / "plugins.cache";
  PluginCache cache(file.string(), "cppd test");
  cache.save();
  CHECK_FALSE(fs::exists(file));
  cache.put("/p/a.so", identity(1, 1), ok("a", "d"));
  cache.save();
  auto text = readAll(file);
  CHECK(text.rfind("cppd-plugin-cache 1\n", 0) == 0);
}
