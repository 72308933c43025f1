#include "plugin/abi_stamp.hpp"

#include <fmt/format.h>


namespace cppd::runner {
namespace {

std::string describeCxx11Abi(std::int32_t value) {
  if (value < 0) return "not libstdc++";
  return fmt::format("_GLIBCXX_USE_CXX11_ABI={}", value);
}

std::string describeFmt(std::int32_t version) {
  return fmt::format("{}.{}.{}", version / 10000, version / 100 % 100, version % 100);
}

}  // namespace

const cppd_abi_stamp& hostAbiStamp() noexcept {
  static const cppd_abi_stamp stamp = CPPD_ABI_STAMP_INITIALIZER;
  return stamp;
}

// Only what crosses the boundary is compared: a plugin built by another compiler (clang++ and g++ share the
// Itanium C++ ABI) or against another libuv or Boost point release is fine, and a symbol it needs that this
// cppd lacks is reported by the dynamic linker when the plugin is loaded with RTLD_NOW.
std::vector<std::string> compareAbiStamps(const cppd_abi_stamp& plugin, const cppd_abi_stamp& host) {
  std::vector<std::string> problems;
  auto add = [&](std::string what) { problems.push_back(std::move(what)); };
  if (plugin.magic != host.magic) {
    add(fmt::format("ABI stamp has magic number {:#010x}, expected {:#010x} (not a cppd plugin stamp)", plugin.magic,
                    host.magic));
    return problems;
  }
  if (plugin.size < sizeof(cppd_abi_stamp)) {
    add(fmt::format("ABI stamp is {} bytes, this cppd expects at least {} (built for an older cppd SDK)", plugin.size,
                    sizeof(cppd_abi_stamp)));
    return problems;
  }
  if (plugin.sdkAbiVersion != host.sdkAbiVersion) {
    add(fmt::format("built for cppd SDK ABI {}, this cppd provides {}", plugin.sdkAbiVersion, host.sdkAbiVersion));
  }
  if (plugin.glibcxxCxx11Abi != host.glibcxxCxx11Abi) {
    add(fmt::format("built with {}, this cppd with {}", describeCxx11Abi(plugin.glibcxxCxx11Abi),
                    describeCxx11Abi(host.glibcxxCxx11Abi)));
  }
  // fmt keeps its ABI within a major version; the SDK's logging API passes fmt types.
  if (plugin.fmtVersion / 10000 != host.fmtVersion / 10000) {
    add(fmt::format("built with fmt {}, this cppd with fmt {}", describeFmt(plugin.fmtVersion),
                    describeFmt(host.fmtVersion)));
  }
  if (plugin.pointerSize != host.pointerSize) {
    add(fmt::format("built for {}-bit pointers, this cppd uses {}-bit pointers",
                    static_cast<std::int64_t>(plugin.pointerSize) * 8, static_cast<std::int64_t>(host.pointerSize) * 8));
  }
  return problems;
}

std::string abiStampProblem(const cppd_abi_stamp& plugin) {
  auto problems = compareAbiStamps(plugin, hostAbiStamp());
  std::string message;
  for (const auto& problem : problems) message += (message.empty() ? "" : "; ") + problem;
  return message;
}

}  // namespace cppd::runner
