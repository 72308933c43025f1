// The one translation unit that compiles Catch2's runner, so test files stay quick to rebuild.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
