// What the SDK's public headers let a plugin author call: their own API and nothing of the SDK's plumbing. The
// SDK reaches its internals through detail access structs (sdk/src/detail/*_access.hpp) instead. Each check is a
// type trait, so it holds or fails at run time like any other assertion (access is checked during substitution).
#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <catch2/catch.hpp>

#include <cppd/application.hpp>
#include <cppd/connector.hpp>
#include <cppd/factory.hpp>
#include <cppd/listening_port.hpp>
#include <cppd/reactor.hpp>
#include <cppd/service.hpp>

namespace {

template <typename T, typename = void>
struct CallsImpl : std::false_type {};
template <typename T>
struct CallsImpl<T, std::void_t<decltype(std::declval<T&>().impl())>> : std::true_type {};

template <typename T, typename = void>
struct CallsDoStart : std::false_type {};
template <typename T>
struct CallsDoStart<T, std::void_t<decltype(std::declval<T&>().doStart())>> : std::true_type {};

template <typename T, typename = void>
struct CallsDoStop : std::false_type {};
template <typename T>
struct CallsDoStop<T, std::void_t<decltype(std::declval<T&>().doStop())>> : std::true_type {};

template <typename T, typename = void>
struct CallsSetParentLink : std::false_type {};
template <typename T>
struct CallsSetParentLink<T, std::void_t<decltype(std::declval<T&>().setParentLink(nullptr))>> : std::true_type {};

template <typename T, typename = void>
struct HasProcessSettings : std::false_type {};
template <typename T>
struct HasProcessSettings<
    T, std::void_t<decltype(std::declval<T&>().uid(), std::declval<T&>().gid(), std::declval<T&>().processName())>>
    : std::true_type {};

}  // namespace

TEST_CASE("The reactor's libuv side and the handles' shared state are not public API", "[api]") {
  CHECK_FALSE(CallsImpl<cppd::Reactor>::value);
  CHECK_FALSE(std::is_constructible_v<cppd::DelayedCall, std::shared_ptr<cppd::DelayedCall::State>>);
  CHECK_FALSE(std::is_constructible_v<cppd::SignalWatch, std::shared_ptr<cppd::SignalWatch::State>>);
  CHECK_FALSE(std::is_constructible_v<cppd::Connector, std::shared_ptr<cppd::Connector::State>>);
  CHECK_FALSE(std::is_constructible_v<cppd::ListeningPort, std::nullptr_t>);  // from its Impl
  // What plugin authors do use stays reachable.
  CHECK(std::is_default_constructible_v<cppd::DelayedCall>);
  CHECK(std::is_default_constructible_v<cppd::ListeningPort>);
}

TEST_CASE("A factory's port counting and a service's parent link are the SDK's, not a plugin's", "[api]") {
  CHECK_FALSE(CallsDoStart<cppd::Factory>::value);
  CHECK_FALSE(CallsDoStop<cppd::Factory>::value);
  CHECK_FALSE(CallsSetParentLink<cppd::IService>::value);
  CHECK_FALSE(CallsSetParentLink<cppd::Service>::value);
}

TEST_CASE("An Application offers no process settings that nothing could set or read", "[api][application]") {
  // twistd takes uid, gid and processName from an Application only when a .tac file made it; cppd's runner makes
  // every Application itself, so they come from the command line and deployment file only.
  CHECK_FALSE(HasProcessSettings<cppd::Application>::value);
  CHECK_FALSE(std::is_constructible_v<cppd::Application, std::string, unsigned, unsigned>);
}
