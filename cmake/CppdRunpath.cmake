# Run-time search paths (DT_RUNPATH) with no empty and no relative entry, in the build tree and installed.
#
# CMake links a target that has an install rule and a build-tree RUNPATH with that RUNPATH padded by ':' (room
# for the rewrite at install), and installs it by replacing exactly that padded string; the padding's empty
# entry means "the current directory" to the dynamic loader, so a build-tree cppd run from a directory another
# user can write loaded their libfmt.so.9. Removing the padding after the link breaks the install's rewrite,
# and CMAKE_NO_BUILTIN_CHRPATH relinks only in `make install`, not in `cmake --install`. So nothing installed
# changes its RUNPATH when it is installed:
#   - cppd and cppd-plugin-note carry their install RUNPATH ($ORIGIN/<the way to the library directory>) in
#     the build tree too, and the build tree keeps libcppd and cppd-plugin-note where an install keeps them
#     relative to the build tree's runner/cppd (which stands for <prefix>/bin/cppd), so that RUNPATH finds the
#     build's libcppd (cppd_runpath_to_libdir);
#   - plugins have no RUNPATH at all (cppd_add_plugin): whatever loads one already holds libcppd.
# What is never installed (unit tests, test plugins, benchmarks, fuzz targets) keeps CMake's absolute
# build-tree RUNPATH, which CMake pads only for a target with an install rule.

# Where the build tree keeps libcppd: the library directory as seen from runner/, as an install sees it from bin/.
file(RELATIVE_PATH _cppd_bin_to_lib "${CMAKE_INSTALL_FULL_BINDIR}" "${CMAKE_INSTALL_FULL_LIBDIR}")
get_filename_component(CPPD_BUILD_LIB_DIR "${PROJECT_BINARY_DIR}/runner/${_cppd_bin_to_lib}" ABSOLUTE)
# Where it keeps cppd-plugin-note: its install directory as seen from the library directory.
file(RELATIVE_PATH _cppd_lib_to_libexec "${CMAKE_INSTALL_FULL_LIBDIR}" "${CMAKE_INSTALL_FULL_LIBEXECDIR}/cppd")
get_filename_component(CPPD_BUILD_LIBEXEC_DIR "${CPPD_BUILD_LIB_DIR}/${_cppd_lib_to_libexec}" ABSOLUTE)
foreach(_cppd_dir IN ITEMS "${CPPD_BUILD_LIB_DIR}" "${CPPD_BUILD_LIBEXEC_DIR}")
  cmake_path(IS_PREFIX PROJECT_BINARY_DIR "${_cppd_dir}" NORMALIZE _cppd_inside)
  if(NOT _cppd_inside)
    message(FATAL_ERROR "The install directories bin (${CMAKE_INSTALL_FULL_BINDIR}), lib "
      "(${CMAKE_INSTALL_FULL_LIBDIR}) and libexec (${CMAKE_INSTALL_FULL_LIBEXECDIR}) are too far apart for the build "
      "tree to mirror them (${_cppd_dir} is outside ${PROJECT_BINARY_DIR}); give CMAKE_INSTALL_BINDIR, "
      "CMAKE_INSTALL_LIBDIR and CMAKE_INSTALL_LIBEXECDIR under one prefix")
  endif()
endforeach()

# cppd_runpath_to_libdir(<target> <the target's full install directory>)
# Gives an installed executable the RUNPATH "$ORIGIN/<the way from its install directory to the library
# directory>", in the build tree as well as installed.
function(cppd_runpath_to_libdir target install_dir)
  file(RELATIVE_PATH _to_lib "${install_dir}" "${CMAKE_INSTALL_FULL_LIBDIR}")
  set_target_properties(${target} PROPERTIES
    INSTALL_RPATH "$ORIGIN/${_to_lib}"
    BUILD_WITH_INSTALL_RPATH ON)
endfunction()

# A build tree configured before this layout still holds libcppd and cppd-plugin-note where they were built then,
# with the padded RUNPATH: remove them, so that neither they nor a scan of the tree's binaries meet them again.
if(NOT CPPD_BUILD_LIB_DIR STREQUAL "${PROJECT_BINARY_DIR}/sdk")
  file(GLOB _cppd_stale "${PROJECT_BINARY_DIR}/sdk/libcppd.so*")
  if(NOT CPPD_BUILD_LIBEXEC_DIR STREQUAL "${PROJECT_BINARY_DIR}/runner")
    list(APPEND _cppd_stale "${PROJECT_BINARY_DIR}/runner/cppd-plugin-note")
  endif()
  file(REMOVE ${_cppd_stale})
endif()
