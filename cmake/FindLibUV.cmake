# Finds libuv through pkg-config (Debian's libuv1-dev ships libuv.pc) and provides LibUV::LibUV.
find_package(PkgConfig REQUIRED QUIET)
pkg_check_modules(PC_LIBUV QUIET IMPORTED_TARGET libuv)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibUV
  REQUIRED_VARS PC_LIBUV_LIBRARIES
  VERSION_VAR PC_LIBUV_VERSION
  REASON_FAILURE_MESSAGE "install libuv1-dev (cmake/install-deps.sh does it)")

if(LibUV_FOUND AND NOT TARGET LibUV::LibUV)
  add_library(LibUV::LibUV ALIAS PkgConfig::PC_LIBUV)
  set(LibUV_VERSION "${PC_LIBUV_VERSION}")
endif()
