#pragma once

// Writing a plugin's metadata note into its ELF file where a listing finds it with the reads it makes anyway.
// Best, in the room the plugin keeps for it (an allocated note section in the first page, CppdPlugin.cmake):
// the read of the ELF header then holds it, one read per plugin. A note too large for the room goes at the end,
// before the section name table and the section headers, which ElfFile reads together with the bytes before
// them: two reads. (objcopy --add-section put it before the symbol and string tables, 20 KiB and more in a
// plugin with symbols: three.) Nothing that is loaded moves: the room's bytes are rewritten in place, and the
// end holds only non-allocated sections and the section headers, so the file maps as the linker made it.

#include <optional>
#include <string>
#include <string_view>

namespace cppd::runner {

/// image with the section called name (created as SHT_NOTE when there is none) holding note, placed right
/// before the rewritten section name table and section headers at the end; a room the file keeps (below) is
/// emptied, so that this note is the only one. The old name table, section
/// headers and note are dropped when they ended the file (as a linker or an earlier call leaves them), so
/// doing it twice gives the same size. Throws cppd::Error (data) naming what is wrong with a file that is no
/// ELF file of this machine's class, or whose section headers or name table lie outside it.
std::string withNoteSection(std::string image, std::string_view name, std::string_view note);

/// image with note written at the start of the allocated note section called name (the room), the rest of
/// the room one note of no owner and type 0 (what a reader of the note segment passes over), or nullopt when
/// there is no such room or note does not fit it. Throws cppd::Error (data) like withNoteSection.
std::optional<std::string> withNoteInRoom(std::string image, std::string_view name, std::string_view note);

}  // namespace cppd::runner
