# What an installation carries beside the binaries: the man page, bash completion, systemd units, the sample
# poems and the example deployment file; and CPack's .deb of all of it (cpack -G DEB in the build directory).
set(CPPD_DIST_DIR "${PROJECT_SOURCE_DIR}/runner/dist")

install(FILES "${CPPD_DIST_DIR}/cppd.1" "${CPPD_DIST_DIR}/cppdctl.1" DESTINATION "${CMAKE_INSTALL_MANDIR}/man1")
install(FILES "${CPPD_DIST_DIR}/cppd.bash-completion"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" RENAME cppd)
install(FILES "${CPPD_DIST_DIR}/cppdctl.bash-completion"
  DESTINATION "${CMAKE_INSTALL_DATADIR}/bash-completion/completions" RENAME cppdctl)
install(FILES "${CPPD_DIST_DIR}/cppd@.service" "${CPPD_DIST_DIR}/cppd-poetry.socket"
  "${CPPD_DIST_DIR}/cppd-poetry.service"
  DESTINATION "lib/systemd/system")
install(DIRECTORY "${PROJECT_SOURCE_DIR}/poetry/" DESTINATION "${CMAKE_INSTALL_DATADIR}/cppd/poetry"
  FILES_MATCHING PATTERN "*.txt")
install(FILES "${CPPD_DIST_DIR}/two-poems.toml" DESTINATION "${CMAKE_INSTALL_DOCDIR}/examples")
install(FILES "${PROJECT_SOURCE_DIR}/LICENSE" "${PROJECT_SOURCE_DIR}/README.md" DESTINATION "${CMAKE_INSTALL_DOCDIR}")

set(CPACK_PACKAGE_NAME cppd)
set(CPACK_PACKAGE_VENDOR "The cppd developers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_RESOURCE_FILE_LICENSE "${PROJECT_SOURCE_DIR}/LICENSE")
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "The cppd developers <cppd@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "Runs C++ service plugins as proper daemons, like twistd
 cppd loads a service plugin (a shared object) and runs it detached from the terminal, logging to a file or
 syslog, with a locked pidfile, at low privilege, stopping cleanly on a signal. It ships three plugins
 (fastpoetry, a sample poetry server; ftp, an FTP server; web, a static HTTP file server), the libcppd SDK
 with its headers and CMake package for out-of-tree plugins, a man page, systemd units and bash completion.")
# Run-time dependencies come from the binaries themselves (dpkg-shlibdeps), so they are exact.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS "${CPPD_BUILD_LIB_DIR}")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "systemd, logrotate")
include(CPack)
