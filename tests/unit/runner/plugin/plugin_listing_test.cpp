#include "plugin/plugin_listing.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "plugin/plugin_registry.hpp"

using namespace cppd::runner;

namespace {

PluginCatalog sampleCatalog() {
  PluginCatalog catalog;
  catalog.plugins = {{.tapname = "fastpoetry", .description = "Serve a poem.", .path = "/b/fastpoetry.so",
                      .source = PluginSource::builtIn},
                     {.tapname = "hello", .description = "Says hello.", .path = "/p/hello.so",
                      .source = PluginSource::pluginPathOption}};
  catalog.rejected = {
      {"/p/crash.so", PluginSource::pluginPathOption, "crashed while loading: signal 11 (Segmentation fault)"}};
  catalog.searched = {{"/p", PluginSource::pluginPathOption}, {"/b", PluginSource::builtIn}};
  return catalog;
}

}  // namespace

TEST_CASE("The commands listing shows each plugin padded, then the plugins that failed", "[plugin][listing]") {
  CHECK(commandsListing(sampleCatalog()) ==
        "Commands:\n"
        "    fastpoetry  Serve a poem.\n"
        "    hello       Says hello.\n"
        "\n"
        "Plugins that could not be used (details: cppd --list-plugins -v):\n"
        "    /p/crash.so: crashed while loading: signal 11 (Segmentation fault)\n");
}

TEST_CASE("The plugin list (--list-plugins) shows where each plugin came from; -v adds the rejected", "[plugin][listing]") {
  auto brief = pluginList(sampleCatalog(), false);
  CHECK(brief.find("fastpoetry  /b/fastpoetry.so (built-in)\n") == 0);
  CHECK(brief.find("hello       /p/hello.so (--plugin-path)\n") != std::string::npos);
  CHECK(brief.find("1 plugin file(s) or directories could not be used") != std::string::npos);
  auto verbose = pluginList(sampleCatalog(), true);
  CHECK(verbose.find("    /p/crash.so (--plugin-path): crashed while loading: signal 11 (Segmentation fault)\n") !=
        std::string::npos);
}

TEST_CASE("Close matches use edit distance and prefixes", "[plugin][listing]") {
  std::vector<std::string> names{"fastpoetry", "hello", "help-me", "web"};
  CHECK(closeMatches("helo", names) == std::vector<std::string>{"hello"});
  CHECK(closeMatches("hlelo", names) == std::vector<std::string>{"hello"});
  CHECK(closeMatches("fast", names) == std::vector<std::string>{"fastpoetry"});
  CHECK(closeMatches("xyz", names).empty());
}

TEST_CASE("An unknown command names close matches or the plugin file that failed", "[plugin][listing]") {
  auto catalog = sampleCatalog();
  CHECK(unknownCommandMessage("helo", catalog) ==
        "unknown command 'helo' (did you mean 'hello'?); run 'cppd --help' for the list of commands");
  CHECK(unknownCommandMessage("zzz", catalog) == "unknown command 'zzz'; run 'cppd --help' for the list of commands");
  CHECK(unknownCommandMessage("crash", catalog) ==
        "unknown command 'crash': plugin /p/crash.so could not be used: crashed while loading: signal 11 "
        "(Segmentation fault)");
}

TEST_CASE("The plugin search path puts --plugin-path first, then CPPD_PLUGIN_PATH, then the built-in dir",
          "[plugin][registry]") {
  auto dirs = pluginSearchPath({"/a", "/b/"}, "/c::/a:/d", "/builtin");
  REQUIRE(dirs.size() == 5);
  CHECK(dirs[0].path == "/a");
  CHECK(dirs[0].source == PluginSource::pluginPathOption);
  CHECK(dirs[1].path == "/b");
  CHECK(dirs[2].path == "/c");
  CHECK(dirs[2].source == PluginSource::environment);
  CHECK(dirs[3].path == "/d");
  CHECK(dirs[4].path == "/builtin");
  CHECK(dirs[4].source == PluginSource::builtIn);
}

TEST_CASE("The built-in plugin directory of a binary in the build tree is the build plugin dir", "[plugin][registry]") {
  // The unit-test binary runs from the build tree.
  CHECK(builtInPluginDirectory() == CPPD_BUILD_PLUGIN_DIR);
}
