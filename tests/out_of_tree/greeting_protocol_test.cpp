// A plugin author's protocol test, built against the installed SDK only: the protocol is driven through
// cppd::testing::StringTransport, with no socket and no loop. Exits 0 when every check holds.

#include <cstdio>
#include <string>

#include <cppd/protocol.hpp>
#include <cppd/testing/string_transport.hpp>

namespace {

// Answers "name\n" with "hello, name\n" and closes.
class GreetingProtocol final : public cppd::Protocol {
 public:
  void dataReceived(std::string_view data) override {
    line_ += data;
    const auto end = line_.find('\n');
    if (end == std::string::npos) return;
    transport().write("hello, " + line_.substr(0, end) + "\n");
    transport().loseConnection();
  }

 private:
  std::string line_;
};

int failures = 0;

void check(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "FAILED: %s\n", what);
  ++failures;
}

}  // namespace

int main() {
  for (std::size_t chunk : {std::size_t{0}, std::size_t{1}}) {
    GreetingProtocol protocol;
    cppd::testing::StringTransport transport;
    transport.connect(protocol);
    transport.receive("plugin authors\nextra", chunk);
    check(transport.value() == "hello, plugin authors\n", "the greeting is written");
    check(transport.disconnecting(), "the protocol closes after greeting");
    transport.disconnect();
    check(!protocol.connected(), "connectionLost detaches the protocol");
  }
  std::puts(failures == 0 ? "greeting protocol: ok" : "greeting protocol: FAILED");
  return failures == 0 ? 0 : 1;
}
