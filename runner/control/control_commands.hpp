#pragma once

// The commands of the control protocol: a request in, one reply line out (README.md lists them).

#include <string>
#include <string_view>

#include "control/control_request.hpp"
#include "control/controlled_daemon.hpp"

namespace cppd::runner {

/// What a request asked the server to do after its reply is sent.
enum class AfterReply { nothing, stop };

struct ControlAnswer {
  std::string line;  // the reply, without its newline
  AfterReply after = AfterReply::nothing;
};

/// Answers request from daemon's facts. reopen is done here; stop is left to the caller (after the reply is
/// on its way). Never throws: a failure of the daemon's interface is an error reply.
ControlAnswer answerRequest(const ControlRequest& request, IControlledDaemon& daemon);

/// An error reply: {"ok":false,"error":"..."} (with "command" when one is known).
std::string errorReply(std::string_view error, std::string_view command = {});

}  // namespace cppd::runner
