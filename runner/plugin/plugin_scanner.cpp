#include "plugin/plugin_scanner.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cppd/error.hpp>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <string_view>
#include <system_error>

#include "plugin/elf_header.hpp"
#include "logging/line_escape.hpp"
#include "plugin/plugin_loader.hpp"

extern char** environ;

namespace cppd::runner {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* protocolHeader = "cppd-scan 1";
constexpr std::size_t maxScanOutput = 256 * 1024;  // a tapname and a description, escaped, fit many times over

struct Child {
  pid_t pid = -1;
  int readFd = -1;
  Clock::time_point deadline;
};

// The binary re-executed as the scanner. /proc/self/exe still works after the binary is replaced on disk, but
// under valgrind (or any tool that runs cppd as its guest) exec'ing it starts the tool, which knows no
// --scan-plugin, so every plugin would be rejected. The link's target names cppd itself (valgrind answers
// readlink for its guest); it is used unless the kernel marks it deleted, i.e. replaced since we started.
std::string selfExecutable() {
  constexpr std::string_view fallback = "/proc/self/exe";
  constexpr std::string_view deleted = " (deleted)";
  std::error_code ec;
  const std::string target = std::filesystem::read_symlink(std::string(fallback), ec).string();
  if (ec || target.empty() || target.front() != '/' || target.ends_with(deleted) ||
      ::access(target.c_str(), X_OK) != 0) {
    return std::string(fallback);
  }
  return target;
}

// The child's environment: ours, plus (under AddressSanitizer) no SEGV interception, so a crashing plugin
// shows up as the signal it got rather than as a sanitizer report and exit status 1.
std::vector<std::string> childEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
#if defined(__SANITIZE_ADDRESS__)
  bool found = false;
  for (auto& entry : env) {
    if (entry.rfind("ASAN_OPTIONS=", 0) == 0) {
      entry += ":handle_segv=0:handle_sigbus=0:handle_abort=0";
      found = true;
    }
  }
  if (!found) env.emplace_back("ASAN_OPTIONS=handle_segv=0:handle_sigbus=0:handle_abort=0");
#endif
  return env;
}

Child spawnScanner(const ScanSettings& settings, const PluginFile& file, std::vector<char*>& envp) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw systemError("create pipe for", "the plugin scanner", errno);
  std::string self = settings.scannerExecutable;
  std::string fdText = std::to_string(scanPluginFd);
  const std::string& path = file.path();
  std::vector<char*> argv{self.data(), const_cast<char*>(scanPluginSwitch), fdText.data(),
                          const_cast<char*>(path.c_str()), nullptr};
  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    throw systemError("fork plugin scanner for", path, err);
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    int devNull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    ::dup2(fds[1], STDOUT_FILENO);
    if (devNull >= 0) {
      ::dup2(devNull, STDIN_FILENO);
      ::dup2(devNull, STDERR_FILENO);
    }
    // The checked file goes to the child as a descriptor, not a path to resolve again. It is >= 3 (the
    // standard descriptors are always open), so the moves above did not touch it.
    if (file.fd() == scanPluginFd) {
      ::fcntl(scanPluginFd, F_SETFD, 0);
    } else if (::dup2(file.fd(), scanPluginFd) < 0) {
      ::_exit(127);
    }
    struct rlimit noCore {
      0, 0
    };
    ::setrlimit(RLIMIT_CORE, &noCore);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  return Child{pid, fds[0], Clock::now() + settings.timeout};
}

// Reads everything the child writes until EOF or the deadline; false on timeout or when the child writes more
// than any result can be (maxScanOutput). A child that finished while
// an earlier one was being waited for has its output ready, so a deadline already past still reads what is there.
bool readUntilEof(const Child& child, std::string& out) {
  char buffer[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(child.deadline - Clock::now()).count();
    pollfd pfd{child.readFd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) return false;
    if (ready < 0) return true;  // cannot wait any more: judge by what was read and the exit status
    ssize_t n = ::read(child.readFd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out.append(buffer, static_cast<std::size_t>(n));
    // Plugin code runs in the child and can write to the result pipe too: never buffer more than a real
    // result can be. The caller sees the overflow and kills the child.
    if (out.size() > maxScanOutput) return false;
  }
}

// Takes the next '\n'-terminated line off the front of text (false when none is left).
bool takeLine(std::string_view& text, std::string& line) {
  auto end = text.find('\n');
  if (end == std::string_view::npos) return false;
  line.assign(text.substr(0, end));
  text.remove_prefix(end + 1);
  return true;
}

std::optional<ScanResult> parseResult(std::string_view output) {
  std::string header, status, first, second;
  if (!takeLine(output, header) || header != protocolHeader || !takeLine(output, status)) return std::nullopt;
  ScanResult result;
  if (status == "ok" && takeLine(output, first) && takeLine(output, second)) {
    auto tapname = unescapeField(first);
    auto description = unescapeField(second);
    if (!tapname || !description) return std::nullopt;
    result.ok = true;
    result.tapname = *tapname;
    result.description = *description;
    return result;
  }
  if (status == "error" && takeLine(output, first)) {
    auto reason = unescapeField(first);
    if (!reason) return std::nullopt;
    result.reason = *reason;
    return result;
  }
  return std::nullopt;
}

std::string describeStatus(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = ::strsignal(sig);
    return fmt::format("crashed while loading: signal {} ({})", sig, name ? name : "unknown signal");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return "the plugin scanner could not be started";
  return fmt::format("the plugin scanner exited with status {} without a result", WEXITSTATUS(status));
}

ScanResult collect(Child& child, const ScanSettings& settings) {
  std::string output;
  bool finished = readUntilEof(child, output);
  ::close(child.readFd);
  if (!finished) ::kill(child.pid, SIGKILL);
  int status = 0;
  while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (output.size() > maxScanOutput) {
    ScanResult result;
    result.reason = fmt::format("wrote more than {} bytes of scan results while loading (killed)", maxScanOutput);
    return result;
  }
  if (!finished) {
    ScanResult result;
    result.reason = fmt::format("did not finish loading within {:g} s (killed)",
                                static_cast<double>(settings.timeout.count()) / 1000.0);
    result.cacheable = false;  // a loaded machine, not necessarily the plugin
    return result;
  }
  if (auto parsed = parseResult(output)) return *parsed;
  ScanResult result;
  result.reason = describeStatus(status);
  // A crash inside the plugin is the plugin's (cached until the file changes, as GStreamer blacklists); the
  // OOM killer's SIGKILL or a scanner that could not run are not.
  const bool killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  result.cacheable = WIFSIGNALED(status) && !killed;
  return result;
}

void writeAll(int fd, const std::string& text) {
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

ScanSettings ScanSettings::fromEnvironment() {
  ScanSettings settings;
  settings.scannerExecutable = selfExecutable();
  if (const char* text = std::getenv("CPPD_PLUGIN_SCAN_TIMEOUT"); text != nullptr && *text != '\0') {
    char* end = nullptr;
    double seconds = std::strtod(text, &end);
    if (*end == '\0' && seconds > 0 && seconds < 3600) {
      settings.timeout = std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
    }
  }
  return settings;
}

std::vector<ScanResult> scanPlugins(const std::vector<PluginFile>& files, const ScanSettings& settings) {
  std::vector<ScanResult> results(files.size());
  std::vector<std::string> env = childEnvironment();
  std::vector<char*> envp;
  for (auto& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);

  std::vector<std::pair<std::size_t, Child>> running;
  auto collectOldest = [&] {
    results[running.front().first] = collect(running.front().second, settings);
    running.erase(running.begin());
  };
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (auto problem = elfProblem(files[i].fd())) {
      results[i].reason = *problem;
      continue;
    }
    if (running.size() >= std::max(1u, settings.parallelism)) collectOldest();
    running.emplace_back(i, spawnScanner(settings, files[i], envp));
  }
  while (!running.empty()) collectOldest();
  return results;
}

int runPluginScan(int fd, const std::string& path) {
  // The result goes to the original stdout; whatever the plugin prints goes to stderr.
  int resultFd = ::dup(STDOUT_FILENO);
  if (resultFd < 0) return 71;
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);  // nothing the plugin starts inherits it
  std::string out = std::string(protocolHeader) + "\n";
  try {
    // Checked again here: the child applies the same rules to the descriptor it loads.
    LoadedPlugin plugin = loadPlugin(PluginFile::adopt(fd, path, TrustPolicy::current()));
    out += "ok\n" + escapeField(plugin.tapname) + "\n" + escapeField(plugin.description) + "\n";
  } catch (const std::exception& e) {
    out += "error\n" + escapeField(e.what()) + "\n";
  }
  writeAll(resultFd, out);
  ::close(resultFd);
  return 0;
}

}  // namespace cppd::runner
