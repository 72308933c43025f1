#include "plugin/plugin_note.hpp"

#include <fmt/format.h>

#include <cppd/error.hpp>
#include <cppd/log.hpp>
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "options/plugin_options.hpp"
#include "plugin/elf_header.hpp"

namespace cppd::runner {
namespace {

constexpr std::uint32_t formatVersion = 1;
constexpr std::uint32_t noteType = 1;
constexpr std::string_view owner("cppd\0", 5);  // the note's name field, with its terminator

// Bounds on untrusted notes, far above any real plugin's.
constexpr std::size_t maxNoteSize = 1 << 20;
constexpr std::size_t maxTextSize = 16 * 1024;
constexpr std::uint32_t maxOptions = 1024;
constexpr std::uint32_t maxStampSize = 1024;

[[noreturn]] void refuse(const std::string& reason) {
  throw Error(ErrorKind::data, fmt::format("its metadata note {}", reason));
}

std::size_t padded(std::size_t size) { return (size + 3) & ~std::size_t{3}; }

void putWord(std::string& out, std::uint32_t value) { out.append(reinterpret_cast<const char*>(&value), 4); }

void putText(std::string& out, std::string_view text) {
  putWord(out, static_cast<std::uint32_t>(text.size()));
  out.append(text);
}

// Whether text holds anything but printable ASCII: a control byte, DEL or a byte >= 0x80. A listing checks
// every text of every plugin's note, so eight bytes are looked at a time: a lane's top bit is set in high when
// its byte is >= 0x80, in low when it is < 0x20 and in del when it is 0x7f (a false lane in low or del can
// only follow a true one, so whether any is set is exact). The exact byte is looked for only when there is one.
bool needsCloserLook(std::string_view text) {
  constexpr std::uint64_t ones = 0x0101010101010101;
  constexpr std::uint64_t tops = 0x8080808080808080;
  std::uint64_t flagged = 0;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    const std::uint64_t low = (word - 0x20 * ones) & ~word;
    const std::uint64_t del = ((word ^ 0x7f * ones) - ones) & ~(word ^ 0x7f * ones);
    flagged |= (word | low | del) & tops;
  }
  for (; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    flagged |= static_cast<unsigned>(byte < 0x20) | static_cast<unsigned>(byte >= 0x7f);
  }
  return flagged != 0;
}

}  // namespace

std::string noteTextProblem(std::string_view text) {
  if (!needsCloserLook(text)) return {};  // printable ASCII: what nearly every note holds
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return fmt::format("has the control byte {:#04x}", byte);
  }
  std::string plain(text);
  plain.erase(std::remove(plain.begin(), plain.end(), '\\'), plain.end());
  std::string escaped;
  appendEscapedLogText(plain, escaped);
  if (escaped != plain) return "has a C1 or bidi control or invalid UTF-8";
  return {};
}

namespace {

// Reads the descriptor front to back; every read is checked against what is left.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}

  std::uint32_t word(const char* what) {
    if (rest_.size() < 4) refuse(fmt::format("ends inside {}", what));
    std::uint32_t value;
    std::memcpy(&value, rest_.data(), 4);
    rest_.remove_prefix(4);
    return value;
  }

  std::string_view bytes(const char* what, std::size_t limit) {
    const std::uint32_t size = word(what);
    if (size > limit) refuse(fmt::format("gives {} a length of {} bytes, more than {}", what, size, limit));
    if (rest_.size() < size) refuse(fmt::format("ends inside {}", what));
    std::string_view out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return out;
  }

  // Text shown in listings and help, one line each: a control byte could forge lines or send terminal escapes.
  // Text that reaches a terminal (listing, --help, completion) must not drive it: refused when it holds a
  // control byte, a C1 or bidi control, or bytes that are not well-formed UTF-8 -- whatever the log's escaping
  // would make visible, backslashes apart (they are harmless and would only be doubled).
  std::string_view text(const char* what) {
    std::string_view value = bytes(what, maxTextSize);
    if (auto problem = noteTextProblem(value); !problem.empty()) refuse(fmt::format("{} in {}", problem, what));
    return value;
  }

  std::size_t left() const noexcept { return rest_.size(); }

  bool done() const noexcept { return rest_.empty(); }

 private:
  std::string_view rest_;
};

cppd_abi_stamp readStamp(Reader& reader) {
  std::string_view bytes = reader.bytes("the ABI stamp", maxStampSize);
  if (bytes.size() < 8) refuse(fmt::format("has an ABI stamp of {} bytes, too short for one", bytes.size()));
  cppd_abi_stamp stamp{};
  std::memcpy(&stamp, bytes.data(), std::min(bytes.size(), sizeof stamp));
  // The record's own size field is what compareAbiStamps trusts: it must not claim more than the note holds.
  if (stamp.size > bytes.size()) stamp.size = static_cast<std::uint32_t>(bytes.size());
  return stamp;
}

OptionSpecView readOption(Reader& reader) {
  OptionSpecView spec;
  spec.longName = reader.text("an option's long name");
  spec.shortName = reader.text("an option's short name");
  spec.help = reader.text("an option's help");
  spec.defaultValue = reader.text("an option's default");
  const std::uint32_t kind = reader.word("an option's kind");
  if (kind > static_cast<std::uint32_t>(OptionKind::count)) {  // the last kind
    refuse(fmt::format("gives option '{}' the unknown kind {}", spec.longName, kind));
  }
  spec.kind = static_cast<OptionKind>(kind);
  const std::uint32_t required = reader.word("an option's required flag");
  if (required > 1) refuse(fmt::format("gives option '{}' the required flag {}", spec.longName, required));
  spec.required = required == 1;
  return spec;
}

// The descriptor of a note section: one note, owner "cppd", of this format's type.
std::string_view descriptorOf(std::string_view section) {
  if (section.size() < 12) refuse(fmt::format("is {} bytes, too short for a note header", section.size()));
  std::uint32_t nameSize, descSize, type;
  std::memcpy(&nameSize, section.data(), 4);
  std::memcpy(&descSize, section.data() + 4, 4);
  std::memcpy(&type, section.data() + 8, 4);
  const std::size_t nameEnd = 12 + padded(nameSize);
  if (nameSize > 64 || nameEnd > section.size()) refuse(fmt::format("claims an owner name of {} bytes", nameSize));
  if (section.substr(12, nameSize) != owner) refuse("is not owned by cppd");
  if (type != noteType) refuse(fmt::format("has type {}, expected {}", type, noteType));
  if (descSize > section.size() - nameEnd) {
    refuse(fmt::format("claims {} bytes of metadata, the section holds {}", descSize, section.size() - nameEnd));
  }
  return section.substr(nameEnd, descSize);
}

}  // namespace

std::string tapnameProblem(std::string_view tapname) {
  if (tapname.empty()) return "its tapname is empty";
  for (char c : tapname) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return fmt::format("tapname '{}' has characters other than a-z, 0-9, '-' and '_'", tapname);
  }
  if (tapname.front() == '-') return fmt::format("tapname '{}' starts with '-'", tapname);
  return {};
}

std::string encodePluginNote(const PluginNote& note) {
  std::string desc;
  putWord(desc, formatVersion);
  putText(desc, std::string_view(reinterpret_cast<const char*>(&note.stamp), sizeof note.stamp));
  putText(desc, note.tapname);
  putText(desc, note.description);
  putText(desc, note.version);
  putWord(desc, static_cast<std::uint32_t>(note.options.size()));
  for (const OptionSpec& spec : note.options) {
    for (const std::string* text : {&spec.longName, &spec.shortName, &spec.help, &spec.defaultValue}) {
      putText(desc, *text);
    }
    putWord(desc, static_cast<std::uint32_t>(spec.kind));
    putWord(desc, spec.required ? 1 : 0);
  }
  std::string section;
  putWord(section, static_cast<std::uint32_t>(owner.size()));
  putWord(section, static_cast<std::uint32_t>(desc.size()));
  putWord(section, noteType);
  section.append(owner);
  section.resize(12 + padded(owner.size()), '\0');
  section.append(desc);
  section.resize(section.size() + padded(desc.size()) - desc.size(), '\0');
  return section;
}

namespace {

// Every field of a note section, as views into its bytes, each checked: the whole of what a note must be
// before anything shows or uses it, so a listing (which keeps two fields) and a plugin's help (which keeps
// them all) give the same verdict on the same bytes.
struct NoteFields {
  cppd_abi_stamp stamp{};
  std::string_view tapname;
  std::string_view description;
  std::string_view version;
  std::vector<OptionSpecView> options;
};

NoteFields checkedFields(std::string_view section) {
  Reader reader(descriptorOf(section));
  const std::uint32_t version = reader.word("its format version");
  if (version != formatVersion) {
    refuse(fmt::format("has format version {}, this cppd reads {} (rebuild the plugin against this cppd)", version,
                       formatVersion));
  }
  NoteFields fields;
  fields.stamp = readStamp(reader);
  fields.tapname = reader.text("the tapname");
  if (auto problem = tapnameProblem(fields.tapname); !problem.empty()) refuse(fmt::format("says {}", problem));
  fields.description = reader.text("the description");
  fields.version = reader.text("the plugin version");
  const std::uint32_t count = reader.word("the option count");
  if (count > maxOptions) refuse(fmt::format("declares {} options, more than {}", count, maxOptions));
  // Each option takes at least 24 bytes (four lengths, kind, flag): what is left bounds the reservation.
  fields.options.reserve(std::min<std::size_t>(count, reader.left() / 24));
  for (std::uint32_t i = 0; i < count; ++i) fields.options.push_back(readOption(reader));
  if (!reader.done()) refuse("has bytes after its last option");
  try {
    checkOptionSpecs(std::string(fields.tapname), fields.options);  // what --help and the parser would trip on
  } catch (const Error& e) {
    refuse(fmt::format("is unusable: {}", e.what()));
  }
  return fields;
}

}  // namespace

PluginNote decodePluginNote(std::string_view section) {
  NoteFields fields = checkedFields(section);
  PluginNote note{fields.stamp, std::string(fields.tapname), std::string(fields.description),
                  std::string(fields.version), {}};
  note.options.reserve(fields.options.size());
  for (const OptionSpecView& view : fields.options) {
    note.options.push_back({.longName = std::string(view.longName),
                            .shortName = std::string(view.shortName),
                            .help = std::string(view.help),
                            .defaultValue = std::string(view.defaultValue),
                            .kind = view.kind,
                            .required = view.required});
  }
  return note;
}

PluginNoteSummary decodePluginNoteSummary(std::string_view section) {
  NoteFields fields = checkedFields(section);
  return {fields.stamp, std::string(fields.tapname), std::string(fields.description)};
}

namespace {

// Decodes the note in its room in the first page (what the ELF header's read already holds), else the section at
// the end of the file, where cppd_add_plugin puts a note too large for the room and an older one put every note.
template <typename Decode>
auto decodeNoteOf(const ElfFile& file, Decode decode) {
  if (auto inRoom = file.firstPageNote(owner, noteType)) return decode(*inRoom);
  auto section = file.section(pluginNoteSection, maxNoteSize);
  if (!section) {
    throw Error(ErrorKind::data, fmt::format("no cppd metadata note ({}): not built with cppd_add_plugin of this "
                                             "cppd; rebuild it with cppd_add_plugin",
                                             pluginNoteSection));
  }
  return decode(*section);
}

}  // namespace

PluginNote readPluginNote(int fd) { return decodeNoteOf(ElfFile::inspect(fd), decodePluginNote); }

PluginNote readPluginNote(int fd, off_t fileSize) {
  return decodeNoteOf(ElfFile::inspect(fd, fileSize), decodePluginNote);
}

PluginNoteSummary readPluginNoteSummary(int fd, off_t fileSize) {
  return decodeNoteOf(ElfFile::inspect(fd, fileSize), decodePluginNoteSummary);
}

}  // namespace cppd::runner
