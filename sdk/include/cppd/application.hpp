#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <cppd/multi_service.hpp>

namespace cppd {

/// The root of a running service tree (Twisted's Application): a MultiService with the process settings
/// (uid, gid, process name) the runner applies when the command line does not give them.
class CPPD_API Application : public MultiService {
 public:
  explicit Application(std::string name,
                       std::optional<std::uint32_t> uid = std::nullopt,
                       std::optional<std::uint32_t> gid = std::nullopt);
  ~Application() override;

  std::optional<std::uint32_t> uid() const noexcept { return uid_; }
  std::optional<std::uint32_t> gid() const noexcept { return gid_; }

  const std::optional<std::string>& processName() const noexcept { return processName_; }
  void setProcessName(std::string name) { processName_ = std::move(name); }

 private:
  std::optional<std::uint32_t> uid_;
  std::optional<std::uint32_t> gid_;
  std::optional<std::string> processName_;
};

}  // namespace cppd
