// Never finishes loading (blocks in a static constructor): listing it must not load it.
#include <unistd.h>

#include "test_maker.hpp"

namespace {
class HangMaker final : public cppd_test::NamedMaker {
 public:
  HangMaker() : NamedMaker("hang") {}
};

const int hangAtLoad = [] {
  while (!cppd_test::describedAtBuildTime()) ::pause();
  return 0;
}();
}  // namespace

CPPD_PLUGIN(HangMaker)
