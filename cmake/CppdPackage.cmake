# Installation and the CMake package out-of-tree plugins use: find_package(cppd) + cppd_add_plugin().
# (Filled in by the plugin-system work.)
