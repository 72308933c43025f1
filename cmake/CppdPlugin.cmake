# cppd_add_plugin(<name> SOURCES <src>... [VERSION <plugin version>]
#                 [OUTPUT_NAME <file name without .so>] [OUTPUT_DIRECTORY <dir>] [NO_INSTALL] [ALLOW_UNDEFINED])
#
# Builds a cppd service plugin: a MODULE library with no "lib" prefix (<name>.so), C++20, hidden visibility
# (CPPD_PLUGIN exports just the ABI stamp and the factory alias), linked against cppd::sdk with -z defs (so a
# missing symbol fails the build, not the load), installed into cppd's plugin directory. The same function
# serves in-tree plugins and out-of-tree ones (through find_package(cppd)), as pybind11_add_module does.
#
# After linking, cppd-plugin-note loads the plugin once and writes its metadata (ABI stamp, tapname, description,
# version, options) into the ELF note .note.cppd.plugin: cppd lists the plugin, shows its --help and checks its
# ABI from that note, without loading it. Every plugin keeps 3 KiB of room for the note in its first page (an
# allocated note section the linker puts right after the build ID), so a listing's first read of the file holds
# it; a larger note goes at the end of the file, next to the section headers (one read more per listing).
#
#   VERSION           the plugin's own version, recorded in its note (default: PROJECT_VERSION)
#   OUTPUT_NAME       the file name, when it differs from the target name
#   OUTPUT_DIRECTORY  where the .so is built (in-tree default: the build tree's plugin directory, which
#                     build/runner/cppd searches; out of tree: CMake's default)
#   NO_INSTALL        do not install the plugin (test plugins)
#   ALLOW_UNDEFINED   link without -z defs (only for testing how cppd reports unresolved symbols)
function(cppd_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "NO_INSTALL;ALLOW_UNDEFINED" "OUTPUT_NAME;OUTPUT_DIRECTORY;VERSION" "SOURCES")
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
    CXX_EXTENSIONS OFF
    # No build-tree RUNPATH: whatever loads a plugin already holds libcppd, and CMake would pad the RUNPATH of
    # an installed plugin with an empty entry, the current directory (CppdRunpath.cmake in cppd's sources).
    BUILD_WITH_INSTALL_RPATH ON)
  if(ARG_OUTPUT_NAME)
    set_target_properties(${name} PROPERTIES OUTPUT_NAME "${ARG_OUTPUT_NAME}")
  endif()
  target_link_libraries(${name} PRIVATE cppd::sdk)
  # Bound when loaded, which happens before the daemon is forked: a daemon that binds lazily walks the symbol
  # tables of every library it uses and keeps those pages resident. Also read-only GOT (full RELRO). A plugin
  # allowed undefined symbols binds lazily, so cppd-plugin-note can describe it; cppd loads with RTLD_NOW anyway.
  if(ARG_ALLOW_UNDEFINED)
    # (Among the libraries, so it comes after the project's -z now in the link line, and wins.)
    target_link_libraries(${name} PRIVATE "-Wl,-z,lazy")
  else()
    target_link_options(${name} PRIVATE "LINKER:-z,defs" "LINKER:-z,relro,-z,now")
  endif()

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
  _cppd_add_plugin_note(${name} "${ARG_VERSION}")
  if(NOT ARG_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION "${_destination}")
  endif()
endfunction()

# The POST_BUILD step that writes the metadata note into the plugin file cppd_add_plugin just linked.
function(_cppd_add_plugin_note name version)
  if(NOT version)
    set(version "${PROJECT_VERSION}")
  endif()
  if(TARGET cppd_plugin_note)
    set(_tool "$<TARGET_FILE:cppd_plugin_note>")
    add_dependencies(${name} cppd_plugin_note)
  elseif(TARGET cppd::plugin_note)
    set(_tool "$<TARGET_FILE:cppd::plugin_note>")
  else()
    message(FATAL_ERROR "cppd_add_plugin(${name}): cppd-plugin-note not found (cppd's package is incomplete)")
  endif()
  # The room: one note of owner "cppd" and type 0 (which nothing reads) filling 3 KiB, until the tool writes
  # the real one over it. Written once per build tree; an unchanged file is not written again.
  set(_room "${CMAKE_BINARY_DIR}/cppd_plugin_note_room.cpp")
  file(CONFIGURE OUTPUT "${_room}" @ONLY CONTENT [[
// Room for the plugin's metadata note (cppd_add_plugin): cppd-plugin-note writes the note here after the link.
// An allocated note is put in the first page, where cppd's first read of the plugin file finds it. Until then
// it is one note of owner "cppd", type 0 (a room, not yet a note) and a descriptor of 3052 zero bytes.
asm(R"(
    .pushsection .note.cppd.plugin,"a",%note
    .balign 4
    .long 5, 3052, 0
    .asciz "cppd"
    .balign 4
    .zero 3052
    .popsection
)");
]])
  target_sources(${name} PRIVATE "${_room}")
  # A new note writer relinks the plugin, so its note is written again (POST_BUILD runs only after a link).
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS "${_tool}")
  add_custom_command(TARGET ${name} POST_BUILD
    COMMAND "${_tool}" "$<TARGET_FILE:${name}>" "${version}"
    COMMENT "Writing the cppd metadata note of ${name}"
    VERBATIM)
endfunction()
