// The plugin metadata cache (~/.cache/cppd/plugins.cache): a file anyone with the user's rights may have edited or
// torn. A corrupt cache must be ignored, never crash. Input: the cache text. When the first byte is odd, the rest
// gets the correct "checksum\t...\n" trailer appended (FNV-1a 64 of the body, as plugin_cache.cpp writes it), so
// the fuzzer reaches the record parser behind the checksum; otherwise the rest is parsed as it is.
// Checks: parse() and load() never throw; a rejected cache is empty; an accepted one survives
// serialize() -> parse() unchanged.

#include <plugin_cache.hpp>

#include <fmt/format.h>

#include "fuzz_support.hpp"

namespace {

const std::string identity = "cppd fuzz abi 1 exe 1:2:3:4";

std::uint64_t fnv1a(std::string_view text) {
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

cppd::fuzz::ScratchFile& scratch() {
  static cppd::fuzz::ScratchFile file("plugins.cache");
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if ((data[0] & 1) != 0) text += fmt::format("checksum\t{:016x}\n", fnv1a(text));

  cppd::runner::PluginCache cache(std::nullopt, identity);
  bool accepted = false;
  try {
    accepted = cache.parse(text);
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("PluginCache::parse threw ") + typeid(e).name() + ": " + e.what());
  }
  if (!accepted) {
    cppd::fuzz::check(cache.size() == 0, "a rejected cache kept entries");
  } else {
    const std::string once = cache.serialize();
    cppd::runner::PluginCache again(std::nullopt, identity);
    cppd::fuzz::check(again.parse(once), "the serialization of an accepted cache is refused:\n" + once);
    cppd::fuzz::check(again.serialize() == once, "serialize -> parse -> serialize changed the cache");
    cppd::fuzz::check(again.size() == cache.size(), "entries lost in a round trip");
  }

  // The same bytes through the file reader, as the runner loads them.
  scratch().write(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  cppd::runner::PluginCache fromFile(scratch().path(), identity);
  try {
    fromFile.load();
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("PluginCache::load threw ") + typeid(e).name() + ": " + e.what());
  }
  cppd::fuzz::check(fromFile.size() == cache.size(), "load() and parse() disagree on the same bytes");
  return 0;
}
