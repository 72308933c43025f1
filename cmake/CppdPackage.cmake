# Installation and the CMake package out-of-tree plugins use: find_package(cppd) + cppd_add_plugin().
#
#   bin/cppd                              RUNPATH $ORIGIN/../<libdir> (a relocated prefix works; CppdRunpath.cmake)
#   <libdir>/libcppd.so.<abi>             the SDK, SONAME tied to CPPD_SDK_ABI_VERSION
#   <libdir>/cppd/plugins/*.so            the in-tree plugins (installed by cppd_add_plugin)
#   libexec/cppd/cppd-plugin-note         cppd_add_plugin's note writer (cppd::plugin_note), RUNPATH to <libdir>
#   include/cppd/*.hpp                    public headers, with the generated version.hpp
#   <libdir>/cmake/cppd/                  cppdConfig.cmake, cppdConfigVersion.cmake, cppdTargets.cmake
#                                         (cppd::sdk, cppd::plugin_note) and CppdPlugin.cmake (cppd_add_plugin)
include(CMakePackageConfigHelpers)

set(CPPD_INSTALL_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/cppd")

install(TARGETS cppd_plugin_note EXPORT cppdTargets RUNTIME DESTINATION "${CMAKE_INSTALL_LIBEXECDIR}/cppd")

install(TARGETS cppd EXPORT cppdTargets
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")

install(DIRECTORY "${PROJECT_SOURCE_DIR}/sdk/include/cppd"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp")
install(FILES "${PROJECT_BINARY_DIR}/sdk/include/cppd/version.hpp"
  DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/cppd")

install(EXPORT cppdTargets
  NAMESPACE cppd::
  DESTINATION "${CPPD_INSTALL_CMAKE_DIR}")

configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/cppdConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/cppdConfig.cmake"
  INSTALL_DESTINATION "${CPPD_INSTALL_CMAKE_DIR}"
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR CPPD_INSTALL_PLUGIN_DIR)
# 0.x: a new minor version may change the plugin ABI, so only the same major.minor is compatible.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/cppdConfigVersion.cmake"
  VERSION "${PROJECT_VERSION}"
  COMPATIBILITY SameMinorVersion)

install(FILES
  "${PROJECT_BINARY_DIR}/cppdConfig.cmake"
  "${PROJECT_BINARY_DIR}/cppdConfigVersion.cmake"
  "${CMAKE_CURRENT_LIST_DIR}/CppdPlugin.cmake"
  DESTINATION "${CPPD_INSTALL_CMAKE_DIR}")
