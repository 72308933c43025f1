// Never finishes loading (blocks in a static constructor): the scanner's deadline must kill it.
#include <unistd.h>

#include "test_maker.hpp"

namespace {
class HangMaker final : public cppd_test::NamedMaker {
 public:
  HangMaker() : NamedMaker("hang") {}
};

const int hangAtLoad = [] {
  for (;;) ::pause();
  return 0;
}();
}  // namespace

CPPD_PLUGIN(HangMaker)
