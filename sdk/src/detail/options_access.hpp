#pragma once

#include <string>
#include <utility>

#include <cppd/options.hpp>

namespace cppd::detail {

/// The runner's side door into Options: its option parser and deployment reader record the values they checked.
/// A plugin only reads the options it is handed.
struct OptionsAccess {
  static void set(Options& options, const std::string& name, OptionValue value) {
    options.set(name, std::move(value));
  }
};

}  // namespace cppd::detail
