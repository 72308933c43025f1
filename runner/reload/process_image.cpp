#include "reload/process_image.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>

#include <fmt/core.h>

#include <cppd/log.hpp>
#include <cppd/posix/unique_fd.hpp>

extern char** environ;

namespace cppd::runner {
namespace {

ProcessImage& image() {
  static ProcessImage current;
  return current;
}

// The path of the running binary; a binary replaced since (an upgrade) reads "/usr/sbin/cppd (deleted)".
std::string ownBinary() {
  std::error_code error;
  std::string path = std::filesystem::read_symlink("/proc/self/exe", error).string();
  constexpr std::string_view deleted = " (deleted)";
  if (path.size() > deleted.size() && path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0) {
    path.resize(path.size() - deleted.size());
  }
  return path;
}

bool named(const std::string& entry, const std::string& name) {
  return entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 && entry[name.size()] == '=';
}

// What the process looks like to the exec, undone when the exec fails.
class ExecState {
 public:
  explicit ExecState(const std::vector<int>& keep) : keep_(keep) {
    for (const int fd : keep_) ::fcntl(fd, F_SETFD, 0);
    // Blocked, not ignored: a signal sent meanwhile stays pending across the exec, for the new image to handle
    // once its handlers exist (a reload or a stop asked for during this reload, logrotate's SIGHUP); ignoring
    // would discard it, and the default action of every one of them ends or stops the process.
    sigset_t held;
    ::sigemptyset(&held);
    for (const int signum : {SIGTERM, SIGINT, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGHUP}) ::sigaddset(&held, signum);
    ::pthread_sigmask(SIG_BLOCK, &held, &mask_);
    cwd_ = posix::UniqueFd(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  ~ExecState() {
    for (const int fd : keep_) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (cwd_ && ::fchdir(cwd_.get()) != 0) log::warn("return to the run directory after a failed reload: {}",
                                                     std::strerror(errno));
    ::pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
  }
  ExecState(const ExecState&) = delete;
  ExecState& operator=(const ExecState&) = delete;

 private:
  std::vector<int> keep_;
  sigset_t mask_{};
  posix::UniqueFd cwd_;
};

}  // namespace

void ProcessImage::remember(int argc, char** argv) {
  ProcessImage& current = image();
  current.argv0_ = argc > 0 ? argv[0] : "cppd";
  current.args_.assign(argv + std::min(argc, 1), argv + argc);
  current.binary_ = ownBinary();
  std::error_code error;
  current.launchDir_ = std::filesystem::current_path(error).string();
}

const ProcessImage& ProcessImage::current() { return image(); }

std::string ProcessImage::exec(const Handover& handover, const std::vector<std::string>& environment) const {
  if (binary_.empty()) return "the path of the cppd binary is not known (/proc/self/exe could not be read)";
  posix::UniqueFd text(::memfd_create("cppd-handover", 0));  // kept across the exec
  if (!text) return fmt::format("memfd_create for the handover: {}", std::strerror(errno));
  const std::string content = handover.text();
  if (::write(text.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    return fmt::format("write the handover: {}", std::strerror(errno));
  }
  std::vector<std::string> env;
  const std::vector<std::string> replaced{"CPPD_HANDOVER", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                          "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"};
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string value(*entry);
    bool drop = false;
    for (const auto& name : replaced) drop = drop || named(value, name);
    if (!drop) env.push_back(value);
  }
  env.insert(env.end(), environment.begin(), environment.end());
  env.push_back(fmt::format("CPPD_HANDOVER={}", text.get()));
  std::vector<std::string> argv{argv0_};
  argv.insert(argv.end(), args_.begin(), args_.end());
  std::vector<char*> rawArgv;
  for (auto& arg : argv) rawArgv.push_back(arg.data());
  rawArgv.push_back(nullptr);
  std::vector<char*> rawEnv;
  for (auto& entry : env) rawEnv.push_back(entry.data());
  rawEnv.push_back(nullptr);
  std::vector<int> keep = handover.descriptors();
  keep.push_back(text.get());
  log::flush();  // lines still held would be lost with this image
  ExecState state(keep);
  if (::chdir(launchDir_.c_str()) != 0) {
    return fmt::format("cannot return to the directory cppd was started from, {}: {}", launchDir_,
                       std::strerror(errno));
  }
  ::execve(binary_.c_str(), rawArgv.data(), rawEnv.data());
  return fmt::format("exec {}: {}", binary_, std::strerror(errno));
}

}  // namespace cppd::runner
