# cppd_add_plugin(<name> SOURCES <src>...)
#
# Builds a cppd service plugin: a MODULE library with no "lib" prefix, hidden visibility, linked against
# cppd::sdk with -z defs (so a missing symbol fails the build, not the load), installed into cppd's plugin
# directory. The same function serves in-tree plugins and out-of-tree ones (through find_package(cppd)).
function(cppd_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "" "SOURCES")
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "cppd_add_plugin(${name}): give the plugin's sources with SOURCES")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "cppd_add_plugin(${name}): unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()

  add_library(${name} MODULE ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    CXX_STANDARD 20
    CXX_STANDARD_REQUIRED ON)
  target_link_libraries(${name} PRIVATE cppd::sdk)
  target_link_options(${name} PRIVATE "LINKER:-z,defs")

  if(TARGET cppd_project_flags)
    # In the cppd source tree: same warnings as the rest, and output where build/runner/cppd looks.
    target_link_libraries(${name} PRIVATE cppd_project_flags cppd_boost_dll)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${CPPD_BUILD_PLUGIN_DIR}")
    install(TARGETS ${name} LIBRARY DESTINATION "${CPPD_INSTALL_PLUGIN_DIR}")
  else()
    find_package(Boost 1.74 REQUIRED CONFIG COMPONENTS headers)
    target_link_libraries(${name} PRIVATE Boost::headers)
    install(TARGETS ${name} LIBRARY DESTINATION "${CPPD_PLUGIN_INSTALL_DIR}")
  endif()
endfunction()
