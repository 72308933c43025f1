// A plugin's metadata note, read from an untrusted plugin file for every listing, `cppd PLUGIN --help` and
// completion: a truncated file, broken section headers or a note that lies about its sizes must be refused
// with a reason, never crash, hang or read past what the file holds. Nothing is ever loaded.
// Input: byte 0 even: the rest is a whole plugin file, read with readPluginNote (ELF checks, section lookup,
// note); odd: the rest is the note section's bytes, read with decodePluginNote and decodePluginNoteSummary
// (the listing's), which must agree.
// Checks: only cppd::Error escapes, with a non-empty one-line reason; an accepted note has a valid tapname, no
// control byte in any text, at most 1024 options, options the parser takes (--help parses), and encoding it
// again decodes to the same note.

#include <fcntl.h>
#include <options/plugin_options.hpp>
#include <plugin/plugin_note.hpp>

#include <cstring>

#include "fuzz_support.hpp"

namespace {

cppd::fuzz::ScratchFile& scratch() {
  static cppd::fuzz::ScratchFile file("plugin.so");
  return file;
}

void checkText(const std::string& text, const char* what) {
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) cppd::fuzz::fail(std::string("an accepted note has a control byte in ") + what);
  }
}

void checkAccepted(const cppd::runner::PluginNote& note) {
  cppd::fuzz::check(cppd::runner::tapnameProblem(note.tapname).empty(), "an accepted note has a bad tapname");
  checkText(note.description, "the description");
  checkText(note.version, "the version");
  cppd::fuzz::check(note.options.size() <= 1024, "an accepted note has more than 1024 options");
  for (const auto& spec : note.options) {
    for (const std::string* text : {&spec.longName, &spec.shortName, &spec.help, &spec.defaultValue}) {
      checkText(*text, "an option");
    }
  }
  // The note's option check is quick and does not build the parser: the parser must take whatever it passes.
  try {
    cppd::fuzz::check(cppd::runner::parsePluginOptions(note.tapname, note.options, {"--help"}, "/").help,
                      "an accepted note's --help was not taken as help");
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string("the parser refuses the options of an accepted note: ") + e.what());
  }
  cppd::runner::PluginNote again;
  cppd::fuzz::check(cppd::fuzz::refusedOrAccepted("decodePluginNote", [&] {
                      again = cppd::runner::decodePluginNote(cppd::runner::encodePluginNote(note));
                    }),
                    "a note re-encoded from an accepted one was refused");
  cppd::fuzz::check(again.tapname == note.tapname && again.description == note.description &&
                        again.options.size() == note.options.size() &&
                        std::memcmp(&again.stamp, &note.stamp, sizeof note.stamp) == 0,
                    "a note re-encoded from an accepted one reads differently");
}

void checkRefusal(const char* what, const std::function<void()>& body) {
  try {
    body();
  } catch (const cppd::Error& e) {
    const std::string reason = e.what();
    cppd::fuzz::check(!reason.empty(), std::string(what) + " refused with an empty reason");
    cppd::fuzz::check(reason.find('\n') == std::string::npos, std::string(what) + " reason has a newline: " + reason);
    return;
  } catch (const std::exception& e) {
    cppd::fuzz::fail(std::string(what) + " threw an undocumented " + typeid(e).name() + ": " + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool wholeFile = data[0] % 2 == 0;
  ++data;
  --size;
  if (wholeFile) {
    scratch().write(data, size);
    const int fd = ::open(scratch().path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) cppd::fuzz::fail("cannot open the scratch file");
    checkRefusal("readPluginNote", [&] { checkAccepted(cppd::runner::readPluginNote(fd)); });
    ::close(fd);
  } else {
    std::string_view section(reinterpret_cast<const char*>(data), size);
    checkRefusal("decodePluginNote", [&] { checkAccepted(cppd::runner::decodePluginNote(section)); });
    // A listing reads only the summary: the same verdict, and the same tapname and description.
    std::string full;
    std::string summary;
    try {
      auto note = cppd::runner::decodePluginNote(section);
      full = note.tapname + '\n' + note.description;
    } catch (const cppd::Error& e) {
      full = std::string("refused: ") + e.what();
    }
    try {
      auto note = cppd::runner::decodePluginNoteSummary(section);
      summary = note.tapname + '\n' + note.description;
    } catch (const cppd::Error& e) {
      summary = std::string("refused: ") + e.what();
    }
    cppd::fuzz::check(full == summary, "a listing's summary and the whole note disagree: " + summary + " / " + full);
  }
  return 0;
}
