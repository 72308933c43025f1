// Crashes with SIGSEGV in a static constructor, i.e. inside dlopen, before cppd can check anything.
#include <csignal>

#include "test_maker.hpp"

namespace {
class CrashMaker final : public cppd_test::NamedMaker {
 public:
  CrashMaker() : NamedMaker("crash") {}
};

const int crashAtLoad = [] { return cppd_test::describedAtBuildTime() ? 0 : std::raise(SIGSEGV); }();
}  // namespace

CPPD_PLUGIN(CrashMaker)
