// Uses a function nothing defines; linked without -z defs, so only loading with RTLD_NOW notices
// (its note is written at build time with lazy binding, so it is listed; starting it is refused).
#include "test_maker.hpp"

extern "C" int cppd_test_symbol_nobody_defines(int);

namespace {
class UnresolvedMaker final : public cppd_test::NamedMaker {
 public:
  UnresolvedMaker() : NamedMaker("unresolved") {}
  std::shared_ptr<cppd::IService> makeService(const cppd::Options&) override {
    if (cppd_test_symbol_nobody_defines(1) != 0) return nullptr;
    return std::make_shared<cppd::Service>();
  }
};
}  // namespace

CPPD_PLUGIN(UnresolvedMaker)
