#pragma once

// The one place the start-up pipeline calls plugin code (options(), makeService, servesFiles) and turns what it
// throws into a cppd::Error that names the plugin. It runs while the plugin is loaded, so the exception object,
// whose code lives in the plugin, is gone before anything could unload it.

#include <exception>
#include <string>

#include <fmt/format.h>

#include <cppd/error.hpp>

namespace cppd::runner {

/// Returns fn(). A cppd::UsageError becomes one of kind usageKind ("fastpoetry: no such poem"): the user's
/// mistake, 64 on a command line, 78 in a deployment file. Another cppd::Error keeps its kind; anything else is
/// the plugin's fault (software, 70): "plugin fastpoetry: makeService failed: ...".
template <typename Fn>
auto callPlugin(const std::string& tapname, const char* what, ErrorKind usageKind, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const UsageError& e) {
    if (usageKind == ErrorKind::usage) throw UsageError(fmt::format("{}: {}", tapname, e.what()));
    throw Error(usageKind, fmt::format("{}: {}", tapname, e.what()));
  } catch (const Error& e) {
    throw Error(e.kind(), fmt::format("{}: {}", tapname, e.what()));
  } catch (const std::exception& e) {
    throw Error(ErrorKind::software, fmt::format("plugin {}: {} failed: {}", tapname, what, e.what()));
  } catch (...) {
    throw Error(ErrorKind::software,
                fmt::format("plugin {}: {} threw an exception not derived from std::exception", tapname, what));
  }
}

}  // namespace cppd::runner
