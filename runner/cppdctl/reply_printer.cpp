#include "cppdctl/reply_printer.hpp"

#include <algorithm>

#include <fmt/core.h>

namespace cppd::ctl {
namespace {

using runner::JsonArray;
using runner::JsonObject;
using runner::JsonValue;

std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7F) out += fmt::format("\\x{:02x}", byte);
    else out += c;
  }
  return out;
}

bool scalar(const JsonValue& value) { return value.object() == nullptr && value.array() == nullptr; }

std::string scalarText(const JsonValue& value) {
  if (const auto* text = value.string()) return text->empty() ? "-" : printable(*text);
  if (const auto* number = value.number()) return number->text;
  if (const auto* flag = value.boolean()) return *flag ? "yes" : "no";
  return "-";  // null: not counted by this version
}

void formatObject(const JsonObject& members, int indent, std::string& out);

void formatArray(const JsonArray& items, int indent, std::string& out) {
  for (const auto& item : items) {
    if (const auto* members = item.object()) {
      // "- first: x" then the other members under it
      std::string nested;
      formatObject(*members, indent + 2, nested);
      if (nested.empty()) nested = fmt::format("{:{}}  {{}}\n", "", indent);
      nested.replace(static_cast<std::size_t>(indent), 2, "- ");
      out += nested;
    } else {
      out += fmt::format("{:{}}- {}\n", "", indent, scalarText(item));
    }
  }
}

void formatObject(const JsonObject& members, int indent, std::string& out) {
  for (const auto& [key, value] : members) {
    const std::string name = printable(key);
    if (scalar(value)) {
      out += fmt::format("{:{}}{}: {}\n", "", indent, name, scalarText(value));
    } else if (const auto* items = value.array(); items && items->empty()) {
      out += fmt::format("{:{}}{}: (none)\n", "", indent, name);
    } else if (items && std::all_of(items->begin(), items->end(), scalar)) {
      std::string joined;
      for (const auto& item : *items) joined += (joined.empty() ? "" : ", ") + scalarText(item);
      out += fmt::format("{:{}}{}: {}\n", "", indent, name, joined);
    } else {
      out += fmt::format("{:{}}{}:\n", "", indent, name);
      if (items) formatArray(*items, indent + 2, out);
      else formatObject(*value.object(), indent + 2, out);
    }
  }
}

}  // namespace

std::string formatResult(const JsonValue& result) {
  std::string out;
  if (const auto* members = result.object()) formatObject(*members, 0, out);
  else out = scalarText(result) + "\n";
  return out;
}

}  // namespace cppd::ctl
