// Declares itself built for the next SDK ABI version and the next fmt major version: refused from its note,
// naming both values of each field, before it is ever loaded.
#include "test_maker.hpp"

namespace {

class FutureMaker final : public cppd_test::NamedMaker {
 public:
  FutureMaker() : NamedMaker("future") {}
};

constexpr cppd_abi_stamp futureStamp() {
  cppd_abi_stamp stamp = CPPD_ABI_STAMP_INITIALIZER;
  stamp.sdkAbiVersion += 1;
  stamp.fmtVersion += 10000;
  return stamp;
}

std::shared_ptr<cppd::IServiceMaker> makeFutureMaker() { return std::make_shared<FutureMaker>(); }

}  // namespace

extern "C" __attribute__((visibility("default"))) const cppd_abi_stamp cppd_plugin_abi_stamp;
extern "C" __attribute__((visibility("default"))) const cppd_abi_stamp cppd_plugin_abi_stamp = futureStamp();
BOOST_DLL_ALIAS_SECTIONED(makeFutureMaker, cppd_service_maker_factory, cppdsvc)
