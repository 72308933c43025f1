#pragma once

#include <stdexcept>
#include <string>

#include <cppd/export.hpp>

namespace cppd {

/// What kind of failure an Error is. The runner maps each kind to one sysexits-style exit code; the SDK and
/// plugins only classify, they never exit.
enum class ErrorKind {
  usage,           // bad command line or option value (64)
  data,            // input data is malformed (65)
  noInput,         // an input file does not exist or cannot be read (66)
  unavailable,     // a service or resource is unavailable (69)
  software,        // internal error, a plugin that misbehaves (70)
  os,              // an operating-system call failed (71)
  cantCreate,      // an output file cannot be created (73)
  io,              // reading or writing failed (74)
  alreadyRunning,  // another instance holds the pidfile (75)
  permission,      // insufficient permission (77)
  config,          // configuration error (78)
};

/// The base of every error the SDK throws on purpose. what() is a complete, one-line sentence naming the
/// operation, the target and the cause ("open poem /x/y.txt: No such file or directory").
class CPPD_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);
  ~Error() override;

  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// A bad option or argument. The runner prints the relevant usage and exits 64.
class CPPD_API UsageError : public Error {
 public:
  explicit UsageError(const std::string& message);
  ~UsageError() override;
};

/// Builds an Error for a failed system call: "<operation> <target>: <strerror(errnum)>", with the kind
/// derived from errnum (EACCES/EPERM -> permission, ENOENT -> noInput, ...).
CPPD_API Error systemError(const std::string& operation, const std::string& target, int errnum);

/// The sysexits code the runner uses for kind.
CPPD_API int exitCodeFor(ErrorKind kind) noexcept;

}  // namespace cppd
