#pragma once

// The one place the runner calls plugin code (the factory, tapname(), description(), options(), makeService,
// servesFiles) and turns what it throws into a cppd::Error that names the plugin. It runs while the plugin is loaded, so the exception object,
// whose code lives in the plugin, is gone before anything could unload it.

#include <exception>
#include <string>

#include <fmt/format.h>

#include <cppd/error.hpp>

namespace cppd::runner {

/// Returns fn(). A cppd::UsageError becomes one of kind usageKind ("fastpoetry: no such poem"): the user's
/// mistake, 64 on a command line, 78 in a deployment file. Another cppd::Error keeps its kind; anything else is
/// the plugin's fault (software, 70): "plugin fastpoetry: makeService failed: ...". An empty tapname leaves the
/// naming to the caller (the loader names the plugin's file): "no such poem", "its factory failed: ...".
template <typename Fn>
auto callPlugin(const std::string& tapname, const char* what, ErrorKind usageKind, Fn&& fn) -> decltype(fn()) {
  const std::string own = tapname.empty() ? "" : tapname + ": ";            // before the plugin's own words
  const std::string blamed = tapname.empty() ? "" : "plugin " + tapname + ": ";  // before what it failed to do
  try {
    return fn();
  } catch (const UsageError& e) {
    if (usageKind == ErrorKind::usage) throw UsageError(own + e.what());
    throw Error(usageKind, own + e.what());
  } catch (const Error& e) {
    throw Error(e.kind(), own + e.what());
  } catch (const std::exception& e) {
    throw Error(ErrorKind::software, fmt::format("{}{} failed: {}", blamed, what, e.what()));
  } catch (...) {
    throw Error(ErrorKind::software,
                fmt::format("{}{} threw an exception not derived from std::exception", blamed, what));
  }
}

}  // namespace cppd::runner
