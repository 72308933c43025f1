#include <cppd/factory.hpp>

#include <cppd/log.hpp>

#include "detail/reactor_impl.hpp"
#include "detail/type_name.hpp"

namespace cppd {

Factory::Factory() = default;
Factory::~Factory() = default;

void Factory::startFactory() {}

void Factory::stopFactory() {}

std::string Factory::logPrefix() const { return detail::shortTypeName(typeid(*this)); }

void Factory::doStart() {
  if (numPorts_ == 0) {
    LogContext context(logPrefix());
    if (noisy_) log::info("Starting factory {}", logPrefix());
    startFactory();
  }
  ++numPorts_;
}

void Factory::doStop() noexcept {
  if (numPorts_ == 0) return;
  if (--numPorts_ != 0) return;
  detail::runGuarded("stopFactory", [this] {
    LogContext context(logPrefix());
    if (noisy_) log::info("Stopping factory {}", logPrefix());
    stopFactory();
  });
}

}  // namespace cppd
