// Uses a function nothing defines; linked without -z defs, so only loading with RTLD_NOW notices.
#include "test_maker.hpp"

extern "C" int cppd_test_symbol_nobody_defines(int);

namespace {
class UnresolvedMaker final : public cppd_test::NamedMaker {
 public:
  UnresolvedMaker() : NamedMaker("unresolved") {}
  std::string description() const override {
    return "resolves to " + std::to_string(cppd_test_symbol_nobody_defines(1));
  }
};
}  // namespace

CPPD_PLUGIN(UnresolvedMaker)
