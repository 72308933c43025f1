# Build-wide switches. Flags are attached to targets through cppd_project_flags, never set globally.

set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
set(CMAKE_CXX_VISIBILITY_PRESET hidden)
set(CMAKE_VISIBILITY_INLINES_HIDDEN ON)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE RelWithDebInfo CACHE STRING "Build type" FORCE)
endif()

option(CPPD_DEVELOPER "Treat warnings as errors (-Wall -Wextra -Werror)" ON)
option(CPPD_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)

add_library(cppd_project_flags INTERFACE)
target_compile_options(cppd_project_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
# Full RELRO: every symbol is bound at load time and the GOT is then read-only (Debian's hardening=+bindnow).
# It also keeps the daemon small: binding happens once in the launcher, before the fork, so the daemon never
# walks the libraries' symbol tables to bind a call lazily (measured: idle daemon RSS 3.65 -> 2.9 MiB).
target_link_options(cppd_project_flags INTERFACE "LINKER:-z,relro,-z,now")
if(CPPD_DEVELOPER)
  target_compile_options(cppd_project_flags INTERFACE -Werror)
  # GCC 12 at -O3 (the Release build type) reports -Wrestrict and -Wstringop-overflow inside libstdc++'s
  # string copies ("literal" + std::string: GCC bugs 105329 and 105651, false positives fixed in GCC 13): they
  # stay warnings there, so a Release build builds.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    target_compile_options(cppd_project_flags INTERFACE -Wno-error=restrict -Wno-error=stringop-overflow)
  endif()
endif()
if(CPPD_SANITIZE)
  # -fno-sanitize=vptr: UBSan's dynamic-type check probes memory through a pipe, so while the process is out of
  # file descriptors (exactly what the EMFILE tests provoke) it reports every virtual call as "invalid vptr".
  # Every other UBSan check stays on.
  # _GLIBCXX_ASSERTIONS: libstdc++'s own checks abort too (an empty std::optional dereferenced, an index past a
  # vector's end), which ASan cannot see when the memory read is the object's own.
  target_compile_options(cppd_project_flags INTERFACE
    -fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_compile_definitions(cppd_project_flags INTERFACE _GLIBCXX_ASSERTIONS)
  target_link_options(cppd_project_flags INTERFACE -fsanitize=address,undefined)
endif()
