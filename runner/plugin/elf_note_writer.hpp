#pragma once

// Writing a plugin's metadata note into its ELF file where a listing finds it with the read it makes anyway.
// ElfFile reads the section headers together with the bytes just before them; objcopy --add-section puts a
// new section before the symbol and string tables instead (20 KiB and more in a plugin with symbols), which
// cost every listing one read more per plugin. Here the note, the section name table and the section headers
// are the last things in the file, in that order. Nothing that is loaded moves: only non-allocated sections
// and the section header table are rewritten, so the file maps and runs exactly as the linker made it.

#include <string>
#include <string_view>

namespace cppd::runner {

/// image with the section called name (created as SHT_NOTE when there is none) holding note, placed right
/// before the rewritten section name table and section headers at the end. The old name table, section
/// headers and note are dropped when they ended the file (as a linker or an earlier call leaves them), so
/// doing it twice gives the same size. Throws cppd::Error (data) naming what is wrong with a file that is no
/// ELF file of this machine's class, or whose section headers or name table lie outside it.
std::string withNoteSection(std::string image, std::string_view name, std::string_view note);

}  // namespace cppd::runner
