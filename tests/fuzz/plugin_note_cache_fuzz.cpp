// The plugin note cache, read by every listing from the user's cache directory: its bytes are checked as if
// anyone had written them. A truncated or lying file must be refused whole (nullopt), never crash, hang or
// read past its end; what an accepted cache would show must pass the checks a note's text does.
// Input: the cache file's bytes, read for the binary identity "id".
// Checks: an accepted cache has valid tapnames and no control byte in a description, one entry per file, and
// encoding it again reads back the same entries.

#include <plugin/plugin_note.hpp>
#include <plugin/plugin_note_cache.hpp>

#include "fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using cppd::runner::PluginNoteCache;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto entries = PluginNoteCache::decode(bytes, "id");
  if (!entries) return 0;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const auto& e = (*entries)[i];
    cppd::fuzz::check(cppd::runner::tapnameProblem(e.tapname).empty(), "an accepted cache has a bad tapname");
    cppd::fuzz::check(cppd::runner::noteTextProblem(e.description).empty(),
                      "an accepted cache has a description a note could not have");
    if (i > 0) {
      const auto& before = (*entries)[i - 1];
      cppd::fuzz::check(before.device != e.device || before.inode != e.inode, "an accepted cache has a file twice");
    }
  }
  auto again = PluginNoteCache::decode(PluginNoteCache::encode("id", *entries), "id");
  cppd::fuzz::check(again && again->size() == entries->size(), "a cache re-encoded from an accepted one was refused");
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const auto& a = (*entries)[i];
    const auto& b = (*again)[i];
    cppd::fuzz::check(a.device == b.device && a.inode == b.inode && a.size == b.size && a.mtimeNs == b.mtimeNs &&
                          a.ctimeNs == b.ctimeNs && a.tapname == b.tapname && a.description == b.description,
                      "a cache re-encoded from an accepted one reads differently");
  }
  return 0;
}
