#include <cppd/application.hpp>

#include <utility>

namespace cppd {

Application::Application(std::string name) : MultiService(std::move(name)) {}

Application::~Application() = default;

}  // namespace cppd
