#include "control/json_value.hpp"

#include <string>

#include <catch2/catch.hpp>

#include "control/json_writer.hpp"

using cppd::runner::JsonWriter;
using cppd::runner::parseJson;

TEST_CASE("parseJson reads every JSON type and keeps the members' order", "[control]") {
  const auto parsed = parseJson(R"( {"b": [1, -2.5e3, true, false, null], "a": "x\u00e9\ud83d\ude00\n"} )");
  REQUIRE(parsed.value);
  const auto& members = *parsed.value->object();
  REQUIRE(members.size() == 2);
  CHECK(members[0].first == "b");
  const auto& items = *members[0].second.array();
  CHECK(items[0].number()->text == "1");
  CHECK(items[1].number()->text == "-2.5e3");
  CHECK(*items[2].boolean());
  CHECK_FALSE(*items[3].boolean());
  CHECK(items[4].isNull());
  CHECK(*parsed.value->member("a")->string() == "x\xc3\xa9\xf0\x9f\x98\x80\n");
}

TEST_CASE("parseJson refuses what a strict parser must", "[control]") {
  for (const std::string bad : {"", "{", "{\"a\":1,}", "[1,]", "01", "1.", "-", "+1", "'a'", "\"a\" 1", "nul",
                                "{\"a\":1,\"a\":2}", "\"\\ud800\"", "\"\\udc00\"", "\"\\x\"", "\"\x01\"",
                                "\"\xff\"", "\"\xc0\x80\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "{1:2}"}) {
    INFO(bad);
    const auto parsed = parseJson(bad);
    CHECK_FALSE(parsed.value);
    CHECK_FALSE(parsed.error.empty());
  }
}

TEST_CASE("parseJson bounds the nesting", "[control]") {
  CHECK(parseJson(std::string(16, '[') + std::string(16, ']')).value);
  const auto deep = parseJson(std::string(100000, '['));
  CHECK_FALSE(deep.value);
  CHECK_THAT(deep.error, Catch::Contains("nested deeper than 16 levels"));
}

TEST_CASE("JsonWriter escapes every byte into valid JSON and UTF-8, by the JSON log lines' policy", "[control]") {
  JsonWriter w;
  const std::string hostile = std::string("q\"b\\n\nt\tc\x01" "d\x7f" "e\xff" "f\xc3\xa9") + '\0';
  w.beginObject().key(hostile).value(hostile).key("n").value(std::uint64_t{18446744073709551615ULL});
  w.key("a").beginArray().value(true).null().value(-1.5).endArray().endObject();
  // The SDK's JSON string policy, as in JSON log lines: a byte that is not UTF-8 is written as \xHH.
  CHECK(w.str() == R"({"q\"b\\n\nt\tc\u0001d\u007fe\\xfffé\u0000":"q\"b\\n\nt\tc\u0001d\u007fe\\xfffé\u0000",)"
                   R"("n":18446744073709551615,"a":[true,null,-1.500]})");
  const auto back = parseJson(w.str());
  REQUIRE(back.value);
  CHECK(*back.value->object()->at(0).second.string() ==
        std::string("q\"b\\n\nt\tc\x01" "d\x7f" "e\\xff" "f\xc3\xa9") + '\0');  // Characters that reorder or break a displayed line are escaped too, as in a JSON log line.
  CHECK(JsonWriter().value("a\xe2\x80\xae" "b\xe2\x80\xa8" "c\xc2\x9b").str() == R"("a\u202eb\u2028c\u009b")");
}
