# cppd_add_plugin(<name> SOURCES <src>...
#                 [OUTPUT_NAME <file name without .so>] [OUTPUT_DIRECTORY <dir>] [NO_INSTALL] [ALLOW_UNDEFINED])
#
# Builds a cppd service plugin: a MODULE library with no "lib" prefix (<name>.so), C++20, hidden visibility
# (CPPD_PLUGIN exports just the ABI stamp and the factory alias), linked against cppd::sdk with -z defs (so a
# missing symbol fails the build, not the load), installed into cppd's plugin directory. The same function
# serves in-tree plugins and out-of-tree ones (through find_package(cppd)), as pybind11_add_module does.
#
#   OUTPUT_NAME       the file name, when it differs from the target name
#   OUTPUT_DIRECTORY  where the .so is built (in-tree default: the build tree's plugin directory, which
#                     build/runner/cppd searches; out of tree: CMake's default)
#   NO_INSTALL        do not install the plugin (test plugins)
#   ALLOW_UNDEFINED   link without -z defs (only for testing how cppd reports unresolved symbols)
function(cppd_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "NO_INSTALL;ALLOW_UNDEFINED" "OUTPUT_NAME;OUTPUT_DIRECTORY" "SOURCES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "cppd_add_plugin(${name}): give the plugin's sources with SOURCES")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "cppd_add_plugin(${name}): unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()

  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    SUFFIX ".so"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    CXX_STANDARD 20
    CXX_STANDARD_REQUIRED ON
    CXX_EXTENSIONS OFF)
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME "${ARG_OUTPUT_NAME}")
  endif()
  target_link_libraries(${name} PRIVATE cppd::sdk)
  if(NOT ARG_ALLOW_UNDEFINED)
    target_link_options(${name} PRIVATE "LINKER:-z,defs")
  endif()
  # Bound when loaded, which happens before the daemon is forked: a daemon that binds lazily walks the symbol
  # tables of every library it uses and keeps those pages resident. Also read-only GOT (full RELRO).
  target_link_options(${name} PRIVATE "LINKER:-z,relro,-z,now")

  if(TARGET cppd_project_flags)
    # In the cppd source tree: same warnings as the rest, and output where build/runner/cppd looks.
    target_link_libraries(${name} PRIVATE cppd_project_flags cppd_boost_dll)
    if(NOT ARG_OUTPUT_DIRECTORY)
      set(ARG_OUTPUT_DIRECTORY "${CPPD_BUILD_PLUGIN_DIR}")
    endif()
    set(_destination "${CPPD_INSTALL_PLUGIN_DIR}")
  else()
    # Out of tree, through find_package(cppd): cppdConfig.cmake found Boost's headers (plugin.hpp expands
    # Boost.DLL's alias macro) and set CPPD_PLUGIN_INSTALL_DIR.
    target_link_libraries(${name} PRIVATE Boost::headers ${CMAKE_DL_LIBS})
    set(_destination "${CPPD_PLUGIN_INSTALL_DIR}")
  endif()
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  endif()
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION "${_destination}")
  endif()
endfunction()
