#include <cppd/application.hpp>

#include <utility>

namespace cppd {

Application::Application(std::string name, std::optional<std::uint32_t> uid, std::optional<std::uint32_t> gid)
    : MultiService(std::move(name)), uid_(uid), gid_(gid) {}

Application::~Application() = default;

}  // namespace cppd
