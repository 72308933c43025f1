#pragma once

// A plugin's metadata note: what cppd shows and checks about a plugin without loading it. cppd_add_plugin
// writes it into every plugin it builds (the ELF note section .note.cppd.plugin, owner "cppd"; in the room the
// plugin keeps for it in its first page when it fits there, else at the end of the file): the ABI stamp,
// tapname, description, the plugin's version and its options. The note is read from the held, trust-checked
// descriptor; its bytes are untrusted, so every count and length in it is bounded.
//
// Descriptor layout (native byte order, which the ELF header's checks pin to this machine's): u32 format
// version; the stamp as u32 length + bytes; tapname, description and version as u32 length + bytes; u32 option
// count; per option longName, shortName, help and defaultValue as strings, then u32 kind and u32 required.

#include <cppd/option_spec.hpp>
#include <cppd/plugin.hpp>
#include <sys/types.h>
#include <string>
#include <string_view>
#include <vector>

namespace cppd::runner {

struct PluginNote {
  cppd_abi_stamp stamp{};
  std::string tapname;
  std::string description;
  std::string version;              // the plugin's own version (cppd_add_plugin VERSION), may be empty
  std::vector<OptionSpec> options;  // without validators: those run in the loaded plugin
};

/// What a listing keeps of a note: its ABI stamp, tapname and description.
struct PluginNoteSummary {
  cppd_abi_stamp stamp{};
  std::string tapname;
  std::string description;
};

/// The section cppd_add_plugin adds and the runner reads.
inline constexpr std::string_view pluginNoteSection = ".note.cppd.plugin";

/// The whole section: ELF note header, owner "cppd", descriptor.
std::string encodePluginNote(const PluginNote& note);

/// Parses a section's bytes. Throws cppd::Error (data) with a one-line reason ("its metadata note ends inside
/// the option list", "its metadata note's tapname 'Hello World' has characters other than ...").
PluginNote decodePluginNote(std::string_view section);

/// decodePluginNote's checks, the same verdict on the same bytes, keeping only what a listing shows: the options
/// are checked as views into the section and never copied.
PluginNoteSummary decodePluginNoteSummary(std::string_view section);

/// Reads and parses the note of the checked plugin file open on fd, after the ELF header checks; never
/// loads or runs anything. Throws cppd::Error (data) with the reason alone, also when there is no note.
PluginNote readPluginNote(int fd);

/// readPluginNote for a regular file whose size the caller has just taken with fstat (one system call fewer).
PluginNote readPluginNote(int fd, off_t fileSize);

/// readPluginNote(fd, fileSize) through decodePluginNoteSummary: what the listing reads of every plugin file.
PluginNoteSummary readPluginNoteSummary(int fd, off_t fileSize);

/// Why text cannot be shown in a listing or help ("has the control byte 0x1b", "has a C1 or bidi control or
/// invalid UTF-8"), or an empty string: the rule every text of a note passes. Text that reaches a terminal must
/// not drive it.
std::string noteTextProblem(std::string_view text);

/// Why tapname cannot be a command ("tapname 'Hello World' has characters other than a-z, 0-9, '-' and '_'"),
/// or an empty string when it is fine.
std::string tapnameProblem(std::string_view tapname);

}  // namespace cppd::runner
