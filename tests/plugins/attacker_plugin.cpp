// Not a cppd plugin: a shared object whose constructor leaves a marker file, standing for another user's code
// that must never run inside cppd. The plugin-swap race tests plant it where a checked plugin was.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>

namespace {

__attribute__((constructor)) void leaveMarker() {
  const char* marker = std::getenv("CPPD_TEST_ATTACKER_MARKER");
  if (marker == nullptr || *marker == '\0') return;
  int fd = ::open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) ::close(fd);
}

}  // namespace
