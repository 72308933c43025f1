#include <cppd/option_spec.hpp>

namespace cppd {

std::string valueNameFor(OptionKind kind) {
  switch (kind) {
    case OptionKind::flag:
      return "";
    case OptionKind::string:
      return "TEXT";
    case OptionKind::integer:
      return "INT";
    case OptionKind::port:
      return "PORT";
    case OptionKind::endpoint:
      return "ENDPOINT";
    case OptionKind::path:
      return "PATH";
    case OptionKind::octal:
      return "OCTAL";
    case OptionKind::size:
      return "SIZE";
    case OptionKind::seconds:
      return "SECONDS";
    case OptionKind::count:
      return "COUNT";
  }
  return "VALUE";
}

}  // namespace cppd
