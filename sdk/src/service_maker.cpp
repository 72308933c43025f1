#include <cppd/service_maker.hpp>

namespace cppd {

// Defined out of line so the vtable and type_info of IServiceMaker live in libcppd, shared by every plugin.
IServiceMaker::~IServiceMaker() = default;

bool IServiceMaker::servesFiles() const { return false; }

}  // namespace cppd
