#pragma once

// An option's declaration as a plugin's metadata note holds it: the same fields as cppd::OptionSpec, as views
// into the note's bytes. A note is checked in this form (checkOptionSpecs), so a listing, which checks every
// note but shows none of their options, copies no option text; the options are copied into OptionSpecs only
// for the plugin whose help is shown or that is run.

#include <cppd/option_spec.hpp>
#include <string_view>

namespace cppd::runner {

struct OptionSpecView {
  std::string_view longName;
  std::string_view shortName;
  std::string_view help;
  std::string_view defaultValue;
  OptionKind kind = OptionKind::string;
  bool required = false;
};

}  // namespace cppd::runner
