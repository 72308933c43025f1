#include "lifecycle/application_runner.hpp"

#include <exception>

#include <cppd/error.hpp>

#include "lifecycle/run.hpp"
#include "reload/handover.hpp"

namespace cppd::runner {

ApplicationRunner::ApplicationRunner(const ServerOptions& options, IProcessPrimitives& os)
    : options_(options), os_(os) {}

int ApplicationRunner::run(std::shared_ptr<Application> app, const std::string& pluginInfo,
                           const std::vector<std::string>& fileServers, const std::vector<std::string>& firstWorkerOnly) {
  Run run(options_, os_, std::move(app), firstWorkerOnly, plugins_);
  try {
    run.start(pluginInfo, fileServers);
  } catch (const Error& e) {
    if (startedWithHandover()) return run.superviseAfterFailedReload(e.what());
    return run.fail(exitCodeFor(e.kind()), e.what());
  } catch (const std::exception& e) {
    if (startedWithHandover()) return run.superviseAfterFailedReload(e.what());
    return run.fail(exitCodeFor(ErrorKind::software), e.what());
  } catch (...) {
    if (startedWithHandover()) return run.superviseAfterFailedReload("an exception not derived from std::exception");
    return run.fail(exitCodeFor(ErrorKind::software), "a service threw an exception not derived from std::exception");
  }
  return options_.workers ? run.supervise() : run.serve();
}

}  // namespace cppd::runner
