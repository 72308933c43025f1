#include "plugin/abi_stamp.hpp"

#include <fmt/format.h>

#include <cstring>
#include <string_view>

namespace cppd::runner {
namespace {

// A fixed char array from a plugin may lack its terminator; never read past the array.
// A text field of an untrusted stamp, for messages: bounded by its capacity, and with control bytes escaped so a
// hostile plugin cannot forge log lines or send terminal escapes (found by fuzzing).
std::string boundedText(const char* text, std::size_t capacity) {
  std::string out;
  for (std::size_t i = 0, n = ::strnlen(text, capacity); i < n; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte == 0x7f) {
      out += fmt::format("\\x{:02x}", byte);
    } else {
      out += static_cast<char>(byte);
    }
  }
  return out;
}

std::string describeCxx11Abi(std::int32_t value) {
  if (value < 0) return "not libstdc++";
  return fmt::format("_GLIBCXX_USE_CXX11_ABI={}", value);
}

std::string describeBoost(std::int32_t version) {
  return fmt::format("{}.{}.{}", version / 100000, version / 100 % 1000, version % 100);
}

std::string describeFmt(std::int32_t version) {
  return fmt::format("{}.{}.{}", version / 10000, version / 100 % 100, version % 100);
}

}  // namespace

const cppd_abi_stamp& hostAbiStamp() noexcept {
  static const cppd_abi_stamp stamp = CPPD_ABI_STAMP_INITIALIZER;
  return stamp;
}

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
  auto pluginCompiler = boundedText(plugin.compiler, sizeof plugin.compiler);
  auto hostCompiler = boundedText(host.compiler, sizeof host.compiler);
  if (pluginCompiler != hostCompiler) {
    add(fmt::format("built with compiler {}, this cppd with {}", pluginCompiler, hostCompiler));
  }
  if (plugin.gxxAbiVersion != host.gxxAbiVersion) {
    add(fmt::format("built for C++ ABI {} (__GXX_ABI_VERSION), this cppd uses {}", plugin.gxxAbiVersion,
                    host.gxxAbiVersion));
  }
  if (plugin.glibcxxCxx11Abi != host.glibcxxCxx11Abi) {
    add(fmt::format("built with {}, this cppd with {}", describeCxx11Abi(plugin.glibcxxCxx11Abi),
                    describeCxx11Abi(host.glibcxxCxx11Abi)));
  }
  if (plugin.boostVersion != host.boostVersion) {
    add(fmt::format("built with Boost {}, this cppd with Boost {}", describeBoost(plugin.boostVersion),
                    describeBoost(host.boostVersion)));
  }
  auto pluginUv = boundedText(plugin.libuv, sizeof plugin.libuv);
  auto hostUv = boundedText(host.libuv, sizeof host.libuv);
  if (pluginUv != hostUv) add(fmt::format("built against libuv {}, this cppd uses libuv {}", pluginUv, hostUv));
  if (plugin.fmtVersion != host.fmtVersion) {
    add(fmt::format("built with fmt {}, this cppd with fmt {}", describeFmt(plugin.fmtVersion),
                    describeFmt(host.fmtVersion)));
  }
  if (plugin.pointerSize != host.pointerSize) {
    add(fmt::format("built for {}-bit pointers, this cppd uses {}-bit pointers", static_cast<std::int64_t>(plugin.pointerSize) * 8,
                    static_cast<std::int64_t>(host.pointerSize) * 8));
  }
  if (plugin.boostDllStdFs != host.boostDllStdFs) {
    add(fmt::format("built with BOOST_DLL_USE_STD_FS={}, this cppd with {}", plugin.boostDllStdFs, host.boostDllStdFs));
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
