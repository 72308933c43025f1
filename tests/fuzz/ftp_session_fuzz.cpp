// An FTP control connection (plugins/ftp/ftp_session*.cpp) driven through a fake transport, as a client on the
// network drives it, against a served root in a scratch directory. Next to the root (never inside it) lie files
// the session must never touch: outside/ (reached from the root by the symlinks escape -> ../outside and
// abs -> its absolute path) and rootx/ (whose path starts with the root's: a prefix-only check would let it in).
// Data connections are never made: PASV listens on 127.0.0.1 and nobody connects; PORT/EPRT are accepted only
// for the fake peer 192.0.2.1 (TEST-NET-1, RFC 5737), so no local service is ever connected to.
//
// Input: byte 0 chooses the session: (byte0 & 3) == 1 logs in anonymously first, == 2 as the password-file user
// alice (password "wonderland"; the root is writable for her), else the input must log in itself (with the
// USER/PASS it sends); (byte0 & 4) turns anonymous logins off in the configuration; (byte0 & 8) makes the
// transport a slow reader: it takes only 256 bytes beyond what the client has read, and the client reads only
// when the session waits for it (backpressure, streamed replies); (byte0 & 16) then makes the client never
// read after the last chunk, so the session ends with replies still waiting. Byte 1 is the chunk size the rest
// is fed in (0: whole). The rest is what the client sends, pipelined: the event loop runs (commands run one per
// loop iteration, password checks on the thread pool) between chunks until the session is idle.
//
// Checks, after every input (the root is rebuilt before each one):
// - nothing outside the root changed: the tree around it (outside/, rootx/ and the scratch directory itself) is
//   identical, entry by entry (type, mode, size, mtime, link target), to how it was made;
// - nothing outside the root was disclosed: the outside files' distinctive size (31337) and mtime (1999-12-31)
//   appear in no SIZE, MDTM, MLST or STAT listing answer;
// - unless the output shows a password login ("230 User"), the root itself is unchanged (anonymous is read-only);
// - every reply is well-formed (RFC 959 4.2: "ddd text" or a "ddd-" ... "ddd " block, CRLF-terminated, first
//   digit 1-5), beginning with the 220 greeting;
// - the session reports its end once, and the event loop closes with no handle left open.

#include <crypt.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cppd/log.hpp>
#include <cppd/reactor.hpp>
#include <cppd/testing/string_transport.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fmt/format.h>
#include <ftp_config.hpp>
#include <ftp_session.hpp>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"

namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kSecretSize = 31337;
constexpr std::time_t kSecretTime = 946684799;  // 1999-12-31T23:59:59Z
constexpr std::time_t kInsideTime = 978307200;  // 2001-01-01T00:00:00Z
constexpr const char* kSecretMdtm = "19991231235959";
constexpr const char* kOwnerColumns = " ftp      ftp      ";

// Runs the loop until the session is idle (draining a slow transport when the session waits for the client, if
// read), within a bounded number of passes.
void settle(cppd::Reactor& reactor, ftp::FtpSession& session, cppd::testing::StringTransport& transport,
            bool read) {
  for (int pass = 0; pass < 100000; ++pass) {
    if (read && transport.drainWaiters() != 0) {
      transport.peerReads();
      continue;
    }
    if (session.idle() || !transport.connected()) return;
    if (transport.drainWaiters() != 0 && !read) return;  // the client does not read: the session must wait
    // One loop iteration: due timers, then a poll without waiting (posted calls, finished thread-pool work).
    reactor.callLater(std::chrono::milliseconds(0), [&reactor] { reactor.stop(); });
    reactor.run();
  }
  cppd::fuzz::fail("the session did not become idle within 100000 loop passes");
}

void writeFile(const std::string& path, std::string_view content, std::time_t mtime) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    cppd::fuzz::fail("create " + path + " failed");
  }
  ::close(fd);
  const timespec times[2] = {{mtime, 0}, {mtime, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

void makeDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) cppd::fuzz::fail("mkdir " + path + " failed");
}

void setTime(const std::string& path, std::time_t mtime) {
  const timespec times[2] = {{mtime, 0}, {mtime, 0}};
  ::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

// type, mode, size, mtime and link target of every entry under dir (not following symlinks), except skip.
std::map<std::string, std::string> snapshot(const std::string& dir, const std::string& skip = {}) {
  std::map<std::string, std::string> entries;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string path = it->path().string();
    if (path == skip) {
      it.disable_recursion_pending();
      continue;
    }
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) continue;
    std::string facts = fmt::format("mode {:o} size {} mtime {}.{}", info.st_mode, info.st_size, info.st_mtim.tv_sec,
                                    info.st_mtim.tv_nsec);
    if (S_ISLNK(info.st_mode)) facts += " -> " + fs::read_symlink(path, ec).string();
    entries.emplace(path, std::move(facts));
  }
  return entries;
}

std::string difference(const std::map<std::string, std::string>& before,
                       const std::map<std::string, std::string>& after) {
  for (const auto& [path, facts] : before) {
    const auto found = after.find(path);
    if (found == after.end()) return path + " was removed";
    if (found->second != facts) return fmt::format("{} changed from '{}' to '{}'", path, facts, found->second);
  }
  for (const auto& [path, facts] : after) {
    if (before.count(path) == 0) return path + " was created (" + facts + ")";
  }
  return {};
}

// The served root, the things around it, and the two configurations (anonymous allowed or not).
struct World {
  World() : scratch("root") {
    base = scratch.directory();
    root = base + "/root";
    const std::string outside = base + "/outside";
    makeDirectory(outside);
    writeFile(outside + "/secret.txt", std::string(kSecretSize, 's'), kSecretTime);
    makeDirectory(outside + "/private");
    writeFile(outside + "/private/key", std::string(kSecretSize, 'k'), kSecretTime);
    setTime(outside + "/private", kSecretTime);
    setTime(outside, kSecretTime);
    const std::string rootx = base + "/rootx";
    makeDirectory(rootx);
    writeFile(rootx + "/secret.txt", std::string(kSecretSize, 'x'), kSecretTime);
    setTime(rootx, kSecretTime);
    ::symlink((base + "/outside").c_str(), (base + "/outside-link").c_str());
    buildRoot();
    around = snapshot(base, root);
    inside = snapshot(root);

    char hash[CRYPT_OUTPUT_SIZE];
    crypt_data data{};
    const char* made = ::crypt_rn("wonderland", "$1$cppdfuzz$", &data, sizeof data);
    if (made == nullptr || made[0] == '*') cppd::fuzz::fail("crypt_rn cannot make an MD5-crypt hash");
    std::snprintf(hash, sizeof hash, "%s", made);
    ftp::PasswordFile users = ftp::PasswordFile::parse(std::string("# fuzz users\nalice:") + hash + "\n", "fuzz");
    auto jail = ftp::openServedRoot(root);
    for (bool anonymous : {true, false}) {
      auto config = std::make_shared<ftp::FtpConfig>();
      config->jail = jail;
      config->users = users;
      config->anonymous = anonymous;
      config->idleTimeout = std::chrono::milliseconds(0);
      configs.push_back(config);
    }
  }

  // The root's fixed content, made afresh for every input (an authenticated session may change it).
  void buildRoot() {
    std::error_code ec;
    fs::remove_all(root, ec);
    makeDirectory(root);
    writeFile(root + "/hello.txt", "hello, world\n", kInsideTime);
    makeDirectory(root + "/pub");
    writeFile(root + "/pub/readme.txt", "read me\n", kInsideTime);
    makeDirectory(root + "/pub/deep");
    writeFile(root + "/pub/deep/file with spaces", "deep\n", kInsideTime);
    setTime(root + "/pub/deep", kInsideTime);
    setTime(root + "/pub", kInsideTime);
    const std::pair<const char*, std::string> links[] = {
        {"escape", "../outside"},   {"abs", base + "/outside/secret.txt"}, {"prefix", "../rootx"},
        {"inner", "pub"},           {"dangling", "../outside/none"},      {"loop", "loop"},
        {"up", ".."}};
    for (const auto& [name, target] : links) {
      ::symlink(target.c_str(), (root + "/" + name).c_str());
      setTime(root + "/" + name, kInsideTime);
    }
    setTime(root, kInsideTime);
  }

  cppd::fuzz::ScratchFile scratch;
  std::string base;
  std::string root;
  std::map<std::string, std::string> around;
  std::map<std::string, std::string> inside;
  std::vector<std::shared_ptr<const ftp::FtpConfig>> configs;
};

World& world() {
  static World instance;
  return instance;
}

class DiscardLog final : public cppd::ILogObserver {
 public:
  void observe(const cppd::LogEvent&) override {}
};

// RFC 959 4.2 reply syntax over the whole output; the last multi-line reply may be unfinished when the session
// ended while waiting for the client to read (stalled).
void checkReplies(const std::string& output, bool stalled) {
  cppd::fuzz::check(output.rfind("220 ", 0) == 0, "the session did not begin with a 220 greeting");
  cppd::fuzz::check(output.size() >= 2 && output.compare(output.size() - 2, 2, "\r\n") == 0,
                    "the output does not end with CRLF");
  std::string_view rest(output);
  std::string_view block;  // the code of an open multi-line reply ("211"), or empty
  while (!rest.empty()) {
    const std::size_t end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    // A CR inside a line is allowed only as RFC 959's CR NUL.
    for (std::size_t cr = line.find('\r'); cr != std::string_view::npos; cr = line.find('\r', cr + 1)) {
      cppd::fuzz::check(cr + 1 < line.size() && line[cr + 1] == '\0',
                        fmt::format("a reply line holds a bare CR: '{}'", line));
    }
    cppd::fuzz::check(line.find('\n') == std::string_view::npos,
                      fmt::format("a reply line holds a bare LF: '{}'", line));
    const bool coded = line.size() >= 4 && line[0] >= '1' && line[0] <= '5' && line[1] >= '0' && line[1] <= '9' &&
                       line[2] >= '0' && line[2] <= '9' && (line[3] == ' ' || line[3] == '-');
    if (!block.empty()) {
      if (coded && line.substr(0, 3) == block && line[3] == ' ') block = {};
      continue;
    }
    cppd::fuzz::check(coded, fmt::format("not a reply line (ddd text): '{}'", line));
    if (line[3] == '-') block = line.substr(0, 3);
  }
  cppd::fuzz::check(block.empty() || stalled, "a multi-line reply was never ended");
}

// The outside files' size and mtime must not appear where the session reports a file's facts.
void checkNothingDisclosed(const std::string& output) {
  const std::string size = std::to_string(kSecretSize);
  std::string_view rest(output);
  while (!rest.empty()) {
    const std::size_t end = rest.find("\r\n");
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 2);
    bool leak = line == "213 " + size || line == std::string("213 ") + kSecretMdtm;
    if (line.rfind(" type=", 0) == 0) {
      // MLST: " fact=value;fact=value; name"; only the facts, not the name (which the client chose).
      const std::string_view facts = line.substr(0, line.find(' ', 1));
      leak = leak || facts.find(";size=" + size + ";") != std::string_view::npos ||
             facts.find(std::string(";modify=") + kSecretMdtm + ";") != std::string_view::npos;
    }
    const std::size_t owner = line.find(kOwnerColumns);
    if ((line.rfind("-", 0) == 0 || line.rfind("d", 0) == 0) && owner != std::string_view::npos) {
      // LIST/STAT: "mode nlink ftp      ftp      size(13) date(12) name"; the size and date columns only.
      const std::string_view columns = line.substr(owner + std::string_view(kOwnerColumns).size());
      const std::string_view sizeColumn = columns.substr(0, 13);
      const std::string_view dateColumn = columns.substr(std::min<std::size_t>(14, columns.size()), 12);
      leak = leak || sizeColumn.substr(sizeColumn.find_first_not_of(' ') == std::string_view::npos
                                           ? sizeColumn.size()
                                           : sizeColumn.find_first_not_of(' ')) == size ||
             (dateColumn.size() == 12 && dateColumn.substr(8) == "1999");
    }
    if (leak) cppd::fuzz::fail(fmt::format("facts of a file outside the root were disclosed: '{}'", line));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cppd::log::addObserver(std::make_shared<DiscardLog>());
  world();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  World& w = world();
  w.buildRoot();
  const unsigned login = data[0] & 3;
  const auto& config = w.configs[(data[0] & 4) ? 1 : 0];
  const std::size_t chunk = data[1];
  std::string input = login == 1 ? "USER anonymous\r\nPASS fuzz@example.org\r\n"
                      : login == 2 ? "USER alice\r\nPASS wonderland\r\n"
                                   : "";
  input.append(reinterpret_cast<const char*>(data + 2), size - 2);

  cppd::testing::StringTransport transport(cppd::Address::ipv4("192.0.2.1", 40000),
                                           cppd::Address::ipv4("127.0.0.1", 2121));
  if (data[0] & 8) transport.stallPeer(256);  // a client that reads 256 bytes at a time
  const bool readsAtTheEnd = (data[0] & 16) == 0;
  bool stalled = false;  // the session ended while waiting for the client to read
  int ended = 0;
  {
    cppd::Reactor reactor;
    {
      auto session = std::make_shared<ftp::FtpSession>(config, reactor, [&ended] { ++ended; });
      transport.connect(*session);
      const std::size_t step = chunk == 0 ? input.size() : chunk;
      for (std::size_t at = 0; at < input.size() && transport.connected(); at += step) {
        transport.receive(std::string_view(input).substr(at, step));
        const bool last = at + step >= input.size();
        settle(reactor, *session, transport, !last || readsAtTheEnd);
      }
      stalled = transport.drainWaiters() != 0;
      transport.disconnect();
      // Work still in flight (a password check) finishes; it must find the session closed and do nothing.
      reactor.run();
    }
    cppd::fuzz::check(ended == 1, fmt::format("the session reported its end {} times", ended));
    cppd::fuzz::check(reactor.tryClose(), fmt::format("the loop still has {} handles open after the session ended",
                                                      reactor.openHandleCount()));
  }

  const std::string changed = difference(w.around, snapshot(w.base, w.root));
  if (!changed.empty()) cppd::fuzz::fail("outside the FTP root: " + changed);
  if (transport.value().find("\r\n230 User ") == std::string::npos) {
    const std::string inside = difference(w.inside, snapshot(w.root));
    if (!inside.empty()) cppd::fuzz::fail("without a password login, the root changed: " + inside);
  }
  checkReplies(transport.value(), stalled);
  checkNothingDisclosed(transport.value());
  return 0;
}
