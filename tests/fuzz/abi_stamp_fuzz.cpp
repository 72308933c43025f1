// The ABI stamp a plugin exports (cppd_plugin_abi_stamp), read with dlsym right after dlopen: its bytes come from
// an untrusted file. Input: the stamp as a difference from this cppd's own stamp (each input byte is XORed onto
// hostAbiStamp()), so an empty or all-zero input is a matching stamp and mutations explore one field at a time.
// An input shorter than the stamp is placed at the very end of an allocation of exactly its length, so ASan
// sees any read past it: abi_stamp.hpp promises that a foreign magic or a too-small size field ends the
// comparison after the first 8 bytes.
// Checks: compareAbiStamps never throws or overflows; identical stamps give no problem; no problem text carries a
// control byte from the stamp.

#include <plugin/abi_stamp.hpp>

#include <cstring>
#include <memory>

#include "fuzz_support.hpp"

namespace {

// Each problem ends up in `cppd --list-plugins` and in the log, one line per plugin: text copied from the stamp
// must not bring control bytes (a newline forges log lines, an escape sequence rewrites the terminal).
void checkProblems(const std::vector<std::string>& problems) {
  for (const auto& problem : problems) {
    cppd::fuzz::check(!problem.empty(), "an empty problem text");
    for (char c : problem) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7f) {
        cppd::fuzz::fail("a problem text carries the raw control byte " + std::to_string(byte) +
                         " from the plugin's stamp: " + problem);
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const cppd_abi_stamp& host = cppd::runner::hostAbiStamp();
  const auto* hostBytes = reinterpret_cast<const std::uint8_t*>(&host);
  constexpr std::size_t full = sizeof(cppd_abi_stamp);
  const std::size_t length = std::min(size, full);

  if (size >= full) {
    cppd_abi_stamp stamp;
    auto* bytes = reinterpret_cast<std::uint8_t*>(&stamp);
    for (std::size_t i = 0; i < full; ++i) bytes[i] = hostBytes[i] ^ data[i];
    std::vector<std::string> problems;
    cppd::fuzz::refusedOrAccepted("compareAbiStamps", [&] { problems = cppd::runner::compareAbiStamps(stamp, host); });
    checkProblems(problems);
    const bool same = std::memcmp(&stamp, &host, full) == 0;
    if (same && !problems.empty()) cppd::fuzz::fail("the host's own stamp was refused: " + problems.front());
    const std::string joined = cppd::runner::abiStampProblem(stamp);
    cppd::fuzz::check(joined.empty() == problems.empty(), "abiStampProblem disagrees with compareAbiStamps");
    return 0;
  }

  // A truncated record (a symbol at the end of a mapping, or a stamp from a much older cppd): only meaningful
  // when its header says so, because compareAbiStamps reads the whole struct otherwise.
  if (length < 8) return 0;
  auto buffer = std::make_unique<std::uint8_t[]>(length);
  for (std::size_t i = 0; i < length; ++i) buffer[i] = hostBytes[i] ^ data[i];
  std::uint32_t magic = 0;
  std::uint32_t declared = 0;
  std::memcpy(&magic, buffer.get(), 4);
  std::memcpy(&declared, buffer.get() + 4, 4);
  if (magic == CPPD_ABI_STAMP_MAGIC && declared >= full) return 0;
  std::vector<std::string> problems;
  cppd::fuzz::refusedOrAccepted("compareAbiStamps(truncated)", [&] {
    problems = cppd::runner::compareAbiStamps(*reinterpret_cast<const cppd_abi_stamp*>(buffer.get()), host);
  });
  cppd::fuzz::check(problems.size() == 1, "a foreign or short stamp gave " + std::to_string(problems.size()) +
                                              " problems instead of one");
  checkProblems(problems);
  return 0;
}
