#pragma once

// The one header a plugin includes to export its service maker:
//
//   #include <cppd/plugin.hpp>
//   class HelloMaker final : public cppd::IServiceMaker { ... };
//   CPPD_PLUGIN(HelloMaker)
//
// CPPD_PLUGIN exports two things under fixed names:
//  - cppd_plugin_abi_stamp: a plain-data, extern "C" record of what crosses the plugin boundary as this plugin
//    was compiled: the SDK ABI version, libstdc++'s dual ABI (std::string's layout), fmt (whose types appear in
//    the SDK's logging API) and the pointer size. The compiler itself is not recorded: g++ and clang++ share the
//    Itanium C++ ABI, and symbols that are genuinely missing are refused by the dynamic linker (RTLD_NOW).
//  - cppd_service_maker_factory: a Boost.DLL alias (in the ELF section "cppdsvc") of a function returning
//    std::shared_ptr<cppd::IServiceMaker>.
// cppd_add_plugin copies both the stamp and the maker's metadata (tapname, description, options) into the
// plugin file's ELF note .note.cppd.plugin when it builds the plugin; cppd lists plugins and checks the stamp
// from that note, without loading them.
//
// This is the only public header that includes Boost, and only for the alias macro; no Boost type appears in
// any cppd API. Boost.DLL's BOOST_DLL_USE_STD_FS travels with the cppd::sdk target.

#include <cstddef>
#include <cstdint>
#include <filesystem>  // Boost.DLL 1.74 headers are not self-contained under BOOST_DLL_USE_STD_FS.
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <vector>

#include <boost/dll/alias.hpp>
#include <fmt/core.h>

#include <cppd/error.hpp>  // plugins throw cppd::UsageError from validators and makeService
#include <cppd/service_maker.hpp>
#include <cppd/version.hpp>

extern "C" {

/// The ABI stamp a plugin exports as `cppd_plugin_abi_stamp`. Plain data only (no constructor runs). Fields are
/// only ever appended; `size` says how many the plugin has.
struct cppd_abi_stamp {
  std::uint32_t magic;             // CPPD_ABI_STAMP_MAGIC; anything else is "not a cppd plugin stamp"
  std::uint32_t size;              // sizeof(cppd_abi_stamp) in the plugin
  std::int32_t sdkAbiVersion;      // CPPD_SDK_ABI_VERSION
  std::int32_t glibcxxCxx11Abi;    // _GLIBCXX_USE_CXX11_ABI (std::string/std::list layout), -1 if not libstdc++
  std::int32_t fmtVersion;         // FMT_VERSION (e.g. 90100); only the major version must match
  std::int32_t pointerSize;        // sizeof(void*)
};

}  // extern "C"

/// "CPPD" in ASCII, little-endian.
#define CPPD_ABI_STAMP_MAGIC 0x44505043u

#if defined(_GLIBCXX_USE_CXX11_ABI)
#define CPPD_STAMP_GLIBCXX_CXX11_ABI _GLIBCXX_USE_CXX11_ABI
#else
#define CPPD_STAMP_GLIBCXX_CXX11_ABI (-1)
#endif

/// The stamp of the translation unit that expands it: the runner uses the same initializer for its own stamp.
#define CPPD_ABI_STAMP_INITIALIZER                                                                              \
  {                                                                                                             \
    CPPD_ABI_STAMP_MAGIC, static_cast<std::uint32_t>(sizeof(::cppd_abi_stamp)), CPPD_SDK_ABI_VERSION,          \
        CPPD_STAMP_GLIBCXX_CXX11_ABI, FMT_VERSION, static_cast<std::int32_t>(sizeof(void*))                     \
  }

namespace cppd {

/// The signature of the factory CPPD_PLUGIN exports. The returned maker's code lives in the plugin, so the
/// runner keeps the plugin loaded until the maker (and every service it made) is destroyed.
using ServiceMakerFactory = std::shared_ptr<IServiceMaker>();

}  // namespace cppd

/// The fixed export names; the runner looks these up (and nothing else) in every plugin.
#define CPPD_PLUGIN_STAMP_SYMBOL "cppd_plugin_abi_stamp"
#define CPPD_PLUGIN_FACTORY_SYMBOL "cppd_service_maker_factory"

/// Exports Maker (a default-constructible class deriving from cppd::IServiceMaker) as this plugin's service
/// maker. Use once per plugin, at global namespace scope, in one source file.
#define CPPD_PLUGIN(Maker)                                                                                      \
  static_assert(std::is_base_of_v<::cppd::IServiceMaker, Maker>,                                                \
                "CPPD_PLUGIN: " #Maker " must derive from cppd::IServiceMaker");                                \
  static_assert(std::is_default_constructible_v<Maker>,                                                         \
                "CPPD_PLUGIN: " #Maker " must be default-constructible");                                       \
  extern "C" __attribute__((visibility("default"))) const ::cppd_abi_stamp cppd_plugin_abi_stamp;               \
  extern "C" __attribute__((visibility("default"))) const ::cppd_abi_stamp cppd_plugin_abi_stamp =              \
      CPPD_ABI_STAMP_INITIALIZER;                                                                               \
  namespace cppd_plugin_entry {                                                                                 \
  inline std::shared_ptr<::cppd::IServiceMaker> makeServiceMaker() { return std::make_shared<Maker>(); }        \
  }                                                                                                             \
  BOOST_DLL_ALIAS_SECTIONED(cppd_plugin_entry::makeServiceMaker, cppd_service_maker_factory, cppdsvc)
