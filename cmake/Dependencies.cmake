# Every third-party dependency comes from a Debian 12 package; cmake/install-deps.sh installs them.
find_package(LibUV 1.44 REQUIRED)
find_package(fmt 9 REQUIRED CONFIG)
find_package(cxxopts 3 REQUIRED CONFIG)
find_package(Boost 1.74 REQUIRED CONFIG COMPONENTS headers)
find_package(Threads REQUIRED)
# The runner only: deployment files (libtomlplusplus-dev). Compiled header-only into the one file that reads them:
# Debian's shared libtomlplusplus would be mapped and bound in every cppd process (about 120 KiB of resident
# memory in an idle server) for a feature used only with -y.
find_package(tomlplusplus 3 REQUIRED CONFIG)
add_library(cppd_tomlplusplus INTERFACE)
target_include_directories(cppd_tomlplusplus SYSTEM INTERFACE
  $<TARGET_PROPERTY:tomlplusplus::tomlplusplus,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(cppd_tomlplusplus INTERFACE TOML_HEADER_ONLY=1)

# Boost.DLL is header-only; BOOST_DLL_USE_STD_FS makes it use std::filesystem so nothing links Boost.Filesystem.
# It changes types in Boost.DLL's API, so it must be identical in every translation unit: it travels with this
# target (and, through cppd::sdk, with every plugin).
add_library(cppd_boost_dll INTERFACE)
target_link_libraries(cppd_boost_dll INTERFACE Boost::headers ${CMAKE_DL_LIBS})
target_compile_definitions(cppd_boost_dll INTERFACE BOOST_DLL_USE_STD_FS)
