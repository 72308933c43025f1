#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "plugin/plugin_note_cache.hpp"

using cppd::runner::PluginNoteCache;

namespace {

std::vector<PluginNoteCache::Entry> cachedEntries() {
  PluginNoteCache::Entry hello{1, 20, 698984, 1700000000123456789, 1700000001987654321, "hello", "Says hello.", false};
  PluginNoteCache::Entry web{1, 10, 3407784, 1700000000000000000, 1700000000000000001, "web", "A web server.", false};
  return {hello, web};
}

bool sameEntries(const std::vector<PluginNoteCache::Entry>& a, const std::vector<PluginNoteCache::Entry>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].device != b[i].device || a[i].inode != b[i].inode || a[i].size != b[i].size ||
        a[i].mtimeNs != b[i].mtimeNs || a[i].ctimeNs != b[i].ctimeNs || a[i].tapname != b[i].tapname ||
        a[i].description != b[i].description) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("A note cache is read back as written, ordered by file", "[plugin_note_cache]") {
  const std::string bytes = PluginNoteCache::encode("build-id 00ff", cachedEntries());
  auto decoded = PluginNoteCache::decode(bytes, "build-id 00ff");
  REQUIRE(decoded);
  auto expected = cachedEntries();
  std::swap(expected[0], expected[1]);  // inode 10 before inode 20
  CHECK(sameEntries(*decoded, expected));
}

TEST_CASE("A note cache another cppd binary wrote is not used", "[plugin_note_cache]") {
  const std::string bytes = PluginNoteCache::encode("build-id 00ff", cachedEntries());
  CHECK_FALSE(PluginNoteCache::decode(bytes, "build-id 00fe"));
  CHECK_FALSE(PluginNoteCache::decode(bytes, ""));
}

TEST_CASE("Every prefix of a note cache, and one with bytes after it, is refused", "[plugin_note_cache]") {
  const std::string bytes = PluginNoteCache::encode("id", cachedEntries());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    INFO("prefix of " << size << " bytes");
    CHECK_FALSE(PluginNoteCache::decode(bytes.substr(0, size), "id"));
  }
  CHECK_FALSE(PluginNoteCache::decode(bytes + "x", "id"));
}

TEST_CASE("A note cache is refused when what it would show could not come from a note", "[plugin_note_cache]") {
  const char* reasons[] = {"a control byte", "a bad tapname", "an empty tapname", "two entries for one file"};
  for (const char* reason : reasons) {
    INFO(reason);
    auto entries = cachedEntries();
    const std::string what(reason);
    if (what == "a control byte") entries[0].description = "Says \x1b[31mhello";
    if (what == "a bad tapname") entries[0].tapname = "Hello World";
    if (what == "an empty tapname") entries[0].tapname.clear();
    if (what == "two entries for one file") entries[1].inode = entries[0].inode;
    CHECK_FALSE(PluginNoteCache::decode(PluginNoteCache::encode("id", entries), "id"));
  }
}

TEST_CASE("A note cache that claims more than it holds is refused without reading past it", "[plugin_note_cache]") {
  std::string bytes = PluginNoteCache::encode("id", cachedEntries());
  const std::size_t countAt = std::string("cppd plugin note cache 1\n").size() + 4 + 2;
  for (std::uint32_t count : {3u, 8193u, 0xffffffffu}) {
    std::string lying = bytes;
    lying.replace(countAt, 4, reinterpret_cast<const char*>(&count), 4);
    CHECK_FALSE(PluginNoteCache::decode(lying, "id"));
  }
  CHECK_FALSE(PluginNoteCache::decode(std::string(5 << 20, 'x'), "id"));
}
