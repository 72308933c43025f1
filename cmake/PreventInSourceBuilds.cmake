# Refuse to configure into the source tree: generated files there would be committed by accident.
if(PROJECT_SOURCE_DIR STREQUAL PROJECT_BINARY_DIR)
  message(FATAL_ERROR
    "cppd: in-source builds are not allowed (build directory ${PROJECT_BINARY_DIR}). "
    "Use a separate directory, e.g. 'cmake -S . -B build'.")
endif()
