# Finds Node's http_parser 2.x (Debian's libhttp-parser-dev, which ships no pkg-config file) and provides
# HttpParser::HttpParser (the shared library, which the web plugin links) and HttpParser::Static (the archive the
# same package ships, else the shared library): cppd itself needs the parser only for --metrics, and linked in
# it costs no library to map and relocate at every start (7 of the ~190 page faults of `cppd --version`).
find_path(HttpParser_INCLUDE_DIR NAMES http_parser.h)
find_library(HttpParser_LIBRARY NAMES http_parser)
find_library(HttpParser_STATIC_LIBRARY NAMES libhttp_parser.a)

if(HttpParser_INCLUDE_DIR AND EXISTS "${HttpParser_INCLUDE_DIR}/http_parser.h")
  file(STRINGS "${HttpParser_INCLUDE_DIR}/http_parser.h" _hp_version_lines
    REGEX "^#define HTTP_PARSER_VERSION_(MAJOR|MINOR|PATCH) [0-9]+$")
  foreach(_part MAJOR MINOR PATCH)
    string(REGEX REPLACE ".*#define HTTP_PARSER_VERSION_${_part} ([0-9]+).*" "\\1" _hp_${_part} "${_hp_version_lines}")
  endforeach()
  set(HttpParser_VERSION "${_hp_MAJOR}.${_hp_MINOR}.${_hp_PATCH}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(HttpParser
  REQUIRED_VARS HttpParser_LIBRARY HttpParser_INCLUDE_DIR
  VERSION_VAR HttpParser_VERSION
  REASON_FAILURE_MESSAGE "install libhttp-parser-dev (cmake/install-deps.sh does it)")

if(HttpParser_FOUND AND NOT TARGET HttpParser::HttpParser)
  add_library(HttpParser::HttpParser UNKNOWN IMPORTED)
  set_target_properties(HttpParser::HttpParser PROPERTIES
    IMPORTED_LOCATION "${HttpParser_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${HttpParser_INCLUDE_DIR}")
  add_library(HttpParser::Static UNKNOWN IMPORTED)
  set(_hp_static "${HttpParser_LIBRARY}")
  if(HttpParser_STATIC_LIBRARY)
    set(_hp_static "${HttpParser_STATIC_LIBRARY}")
  endif()
  set_target_properties(HttpParser::Static PROPERTIES
    IMPORTED_LOCATION "${_hp_static}"
    INTERFACE_INCLUDE_DIRECTORIES "${HttpParser_INCLUDE_DIR}")
endif()
mark_as_advanced(HttpParser_INCLUDE_DIR HttpParser_LIBRARY HttpParser_STATIC_LIBRARY)
