// Its factory throws: the plugin must be reported ("its service-maker factory failed: ...") and skipped.
#include <stdexcept>

#include "test_maker.hpp"

namespace {
class ThrowingMaker final : public cppd_test::NamedMaker {
 public:
  ThrowingMaker() : NamedMaker("throwing") {
    if (!cppd_test::describedAtBuildTime()) throw std::runtime_error("cannot read /etc/throwing.conf");
  }
};
}  // namespace

CPPD_PLUGIN(ThrowingMaker)
