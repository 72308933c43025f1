// Claims the tapname "hello" too: whichever comes later in the search order is reported as a duplicate.
#include "test_maker.hpp"

namespace {
class DuplicateMaker final : public cppd_test::NamedMaker {
 public:
  DuplicateMaker() : NamedMaker("hello") {}
  std::string description() const override { return "A second plugin claiming the tapname hello."; }
};
}  // namespace

CPPD_PLUGIN(DuplicateMaker)
