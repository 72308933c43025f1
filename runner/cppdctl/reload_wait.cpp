#include "cppdctl/reload_wait.hpp"

#include <cstdlib>
#include <thread>

#include <fmt/core.h>

#include "control/json_value.hpp"
#include "cppdctl/control_client.hpp"

namespace cppd::ctl {
namespace {

std::uint64_t count(const runner::JsonValue& result, std::string_view name) {
  const runner::JsonValue* value = result.member(name);
  return value && value->number() ? std::strtoull(value->number()->text.c_str(), nullptr, 10) : 0;
}

}  // namespace

ReloadOutcome waitForReload(const std::string& socket, ReloadCounts before, std::chrono::milliseconds wait) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + wait;
  auto pause = std::chrono::milliseconds(5);
  std::string lastError;
  while (Clock::now() < deadline) {
    try {
      ControlClient client(socket, std::chrono::milliseconds(5000));
      const auto parsed = runner::parseJson(client.request(R"({"command":"status"})"));
      const runner::JsonValue* result = parsed.value ? parsed.value->member("result") : nullptr;
      if (result == nullptr) throw ClientError(69, "the daemon's status reply has no result");
      const runner::JsonValue* reloading = result->member("reloading");
      const bool busy = reloading && reloading->boolean() && *reloading->boolean();
      const std::uint64_t reloads = count(*result, "reloads");
      const std::uint64_t failed = count(*result, "failed_reloads");
      if (!busy && reloads + failed > before.reloads + before.failed) {
        const runner::JsonValue* last = result->member("last_reload");
        return ReloadOutcome{failed == before.failed, last && last->string() ? *last->string() : std::string()};
      }
      lastError.clear();
    } catch (const ClientError& e) {
      // The exec of the new image closes this connection; its control server answers a moment later. Give up
      // only when it stays silent.
      if (!lastError.empty() && e.exitCode() == 69) throw ClientError(69, fmt::format("the daemon stopped answering "
                                                                                      "during the reload: {}", e.what()));
      lastError = e.what();
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
  throw ClientError(75, fmt::format("no outcome of the reload within {} s; `cppdctl status` shows it when it comes",
                                    std::chrono::duration<double>(wait).count()));
}

}  // namespace cppd::ctl
