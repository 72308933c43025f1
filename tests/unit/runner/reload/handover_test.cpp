#include "reload/handover.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cppd/error.hpp>
#include <cppd/posix/unique_fd.hpp>

using cppd::runner::Handover;

namespace {

Handover sample(int fd) {
  Handover h;
  h.generation = 7;
  h.reloads = 6;
  h.failedReloads = 2;
  h.startTime = 1796098987.5;
  h.startMonotonicNs = 123456789;
  h.restarts = 3;
  h.why = "cppdctl reload \n\"odd\" \xff";
  h.queued = true;
  h.requestedNs = 42;
  h.pidFileFd = fd;
  h.boardFd = fd;
  h.listeners.push_back({"tcp:0:interface=127.0.0.1", fd});
  h.listeners.push_back({"unix:/run/a b\nc.sock#2", fd});
  h.workers.push_back({1, 4242, 0, 1796098990.25});
  h.workers.push_back({2, 4243, 5, 1796098991.0});
  return h;
}

}  // namespace

TEST_CASE("a handover reads back exactly what it wrote", "[reload]") {
  const cppd::posix::UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const Handover h = sample(fd.get());
  const Handover back = Handover::parse(h.text());
  CHECK(back.generation == 7);
  CHECK(back.reloads == 6);
  CHECK(back.failedReloads == 2);
  CHECK(back.startTime == Approx(1796098987.5));
  CHECK(back.startMonotonicNs == 123456789);
  CHECK(back.restarts == 3);
  CHECK(back.why == h.why);
  CHECK(back.queued);
  CHECK(back.pidFileFd == fd.get());
  CHECK(back.metricsFd == -1);
  REQUIRE(back.listeners.size() == 2);
  CHECK(back.listeners[1].key == "unix:/run/a b\nc.sock#2");
  REQUIRE(back.workers.size() == 2);
  CHECK(back.workers[1].pid == 4243);
  CHECK(back.workers[1].slot == 5);
  CHECK(back.descriptors().size() == 4);
}

TEST_CASE("a handover that is not exactly one is refused, naming why", "[reload]") {
  const cppd::posix::UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const std::string good = sample(fd.get()).text();
  const auto refused = [](const std::string& text, const std::string& why) {
    CHECK_THROWS_WITH(Handover::parse(text), Catch::Contains("read the reload handover") && Catch::Contains(why));
  };
  refused("", "cut short");
  refused("cppd-handover 2\nend\n", "another version");
  refused(good.substr(0, good.size() - 4), "cut short");
  refused(good + "generation 1\n", "after its end");
  refused("cppd-handover 1\ngeneration x\nend\n", "not a number");
  refused("cppd-handover 1\nfds 999 -1 -1 -1\nend\n", "not open");
  refused("cppd-handover 1\nlistener 3 7a7\nend\n", "odd-length");
  refused("cppd-handover 1\nfrobnicate 1\nend\n", "unknown line");
  refused("cppd-handover 1\nworker 1 2\nend\n", "fields");
  refused("cppd-handover 1\nend", "no end");
}

TEST_CASE("a handover comes from the descriptor CPPD_HANDOVER names, once", "[reload]") {
  const cppd::posix::UniqueFd listener(::open("/dev/null", O_RDONLY));  // crossed an exec: no close-on-exec
  Handover h;
  h.generation = 3;
  h.listeners.push_back({"tcp:1:interface=127.0.0.1", listener.get()});
  const int text = ::memfd_create("handover-test", 0);
  REQUIRE(text >= 0);
  const std::string content = h.text();
  REQUIRE(::write(text, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  ::setenv("CPPD_HANDOVER", std::to_string(text).c_str(), 1);
  const auto read = Handover::fromEnvironment();
  REQUIRE(read);
  CHECK(read->generation == 3);
  CHECK(std::getenv("CPPD_HANDOVER") == nullptr);
  CHECK(::fcntl(text, F_GETFD) < 0);  // taken and closed
  CHECK((::fcntl(listener.get(), F_GETFD) & FD_CLOEXEC) != 0);  // no child of the new image inherits it
  CHECK_FALSE(Handover::fromEnvironment());
  ::setenv("CPPD_HANDOVER", "nonsense", 1);
  CHECK_THROWS_AS(Handover::fromEnvironment(), cppd::Error);
  ::unsetenv("CPPD_HANDOVER");
}
