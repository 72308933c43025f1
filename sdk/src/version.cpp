#include <cppd/version.hpp>

namespace cppd {

std::string versionString() { return CPPD_VERSION_STRING; }

int sdkAbiVersion() { return CPPD_SDK_ABI_VERSION; }

}  // namespace cppd
