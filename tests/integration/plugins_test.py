"""The plugin system end to end: the real cppd against per-test plugin directories holding good and bad plugins.

Each test copies the test plugins it needs (built into CPPD_TEST_PLUGIN_DIR, outside the built-in plugin directory)
into its own directory and runs `cppd --plugin-path DIR ...` with a per-test plugin cache.
"""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import unittest

from cppdtest import PLUGIN_DIR, TempDirTestCase, run_cppd

TEST_PLUGINS = os.environ.get("CPPD_TEST_PLUGIN_DIR", "")
ATTACKER_PLUGIN = os.environ.get("CPPD_TEST_ATTACKER_PLUGIN", "")

# Runs as another user: exchanges two directories (renameat2 RENAME_EXCHANGE) as fast as it can until the
# deadline, so every path cppd resolves there may name either one.
SWAPPER = r"""
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, deadline = sys.argv[1].encode(), sys.argv[2].encode(), time.monotonic() + float(sys.argv[3])
swaps = 0
while time.monotonic() < deadline:
    if libc.renameat2(-100, a, -100, b, 2) == 0:
        swaps += 1
print(swaps)
"""

BAD_REASONS = {
    "abi_mismatch.so": "built for cppd SDK ABI {next}, this cppd provides {abi}",
    "crash.so": "crashed while loading: signal 11 (Segmentation fault)",
    "no_entry.so": "not a cppd plugin: it exports no cppd_plugin_abi_stamp and no cppd_service_maker_factory "
                   "(declare the maker with CPPD_PLUGIN(Maker))",
    "throwing.so": "its service-maker factory threw: cannot read /etc/throwing.conf",
    "unresolved.so": "cannot load: undefined symbol: cppd_test_symbol_nobody_defines",
}


def sdk_abi():
    out = run_cppd(["--version"]).stdout
    return int(out.split("plugin SDK ABI ")[1].split()[0])


class PluginTestCase(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.plugins = self.path("plugins")
        os.mkdir(self.plugins, 0o755)
        os.chmod(self.plugins, 0o755)
        self.env = dict(os.environ)
        self.env["CPPD_PLUGIN_CACHE"] = self.path("cache", "plugins.cache")
        self.env.pop("CPPD_PLUGIN_PATH", None)
        self.env["CPPD_PLUGIN_SCAN_TIMEOUT"] = "2"

    def add(self, name, as_name=None, mode=0o755, directory=None):
        target = os.path.join(directory or self.plugins, as_name or name)
        shutil.copyfile(os.path.join(TEST_PLUGINS, name), target)
        os.chmod(target, mode)
        return target

    def cppd(self, *args, env=None):
        return run_cppd(["--plugin-path", self.plugins, *args], env=env or self.env, cwd=self.tmp)

    def assert_usage_error(self, result, message):
        self.assertEqual(result.returncode, 64, result.stderr)
        first, _, rest = result.stderr.partition("\n")
        self.assertEqual(first, f"cppd: {message}")
        if "unknown command" not in message:
            # The relevant usage follows the reason: the plugin's options, or the runner's.
            self.assertRegex(rest, r"^\nUsage: cppd \[options\] ")


class ListingTests(PluginTestCase):
    def test_bare_cppd_lists_commands_sorted_with_descriptions_and_exits_0(self):
        self.add("hello.so")
        result = self.cppd()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith("Usage: cppd [options] COMMAND [command options]\n"))
        commands = result.stdout.split("Commands:\n")[1].split("\n\n")[0].splitlines()
        # The built-in plugins (fastpoetry, ftp, web, ...) and the test one, sorted by tapname.
        self.assertEqual(commands, sorted(commands))
        names = [line.split()[0] for line in commands]
        self.assertIn("fastpoetry", names)
        self.assertIn("hello", names)
        width = max(len(n) for n in names)
        self.assertIn("    " + "hello".ljust(width) + "  Says hello (a test plugin with one option of each kind).",
                      commands)
        self.assertEqual(self.cppd("--help").stdout, result.stdout)

    def test_every_kind_of_bad_plugin_is_reported_by_path_and_reason_and_skipped(self):
        self.add("hello.so")
        for name in BAD_REASONS:
            self.add(name)
        self.write("plugins/junk.so", "this is not a shared object\n", mode=0o755)
        with open(os.path.join(TEST_PLUGINS, "hello.so"), "rb") as f:
            self.write("plugins/truncated.so", f.read()[:3000], mode=0o755)
        result = self.cppd()
        self.assertEqual(result.returncode, 0, result.stderr)
        commands, failures = result.stdout.split("Commands:\n")[1].split("\n\n")
        self.assertIn("    hello ", commands)
        self.assertNotIn("future", commands)
        abi = sdk_abi()
        expected = {name: reason.format(abi=abi, next=abi + 1) for name, reason in BAD_REASONS.items()}
        expected["junk.so"] = 'not an ELF file (starts with "this")'
        for name, reason in expected.items():
            self.assertIn(f"    {self.plugins}/{name}: {reason}\n", failures)
        self.assertRegex(failures, rf"    {self.plugins}/truncated\.so: truncated ELF file: 3000 bytes, its headers "
                                   r"describe \d+\n")

    def test_a_plugin_that_hangs_while_loading_is_killed_at_the_deadline(self):
        self.add("hang.so")
        self.add("hello.so")
        # Long enough for the other scans under a sanitizer on a loaded 2-core machine (0.5 s was not).
        self.env["CPPD_PLUGIN_SCAN_TIMEOUT"] = "2.5"
        result = self.cppd()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"{self.plugins}/hang.so: did not finish loading within 2.5 s (killed)", result.stdout)
        self.assertIn("    hello ", result.stdout)

    @unittest.skipUnless(ATTACKER_PLUGIN, "CPPD_TEST_ATTACKER_PLUGIN is not set")
    def test_a_plugin_flooding_the_scanner_with_output_is_killed_at_the_bound(self):
        target = os.path.join(self.plugins, "flood.so")
        shutil.copyfile(os.path.join(os.path.dirname(ATTACKER_PLUGIN), "flood.so"), target)
        result = self.cppd("--list-plugins", "-v")
        self.assertIn(f"{target} (--plugin-path): wrote more than 262144 bytes of scan results while loading "
                      f"(killed)\n", result.stdout)

    def test_duplicate_tapname_first_in_search_order_wins(self):
        second = self.path("second")
        os.mkdir(second, 0o755)
        self.add("hello_again.so", "a_hello.so", directory=second)
        self.add("hello.so")
        result = run_cppd(["--plugin-path", self.plugins, "--plugin-path", second, "--list-plugins", "-v"],
                          env=self.env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"hello       {self.plugins}/hello.so (--plugin-path)\n", result.stdout)
        self.assertIn(f"    {second}/a_hello.so (--plugin-path): duplicate tapname 'hello' (already provided by "
                      f"{self.plugins}/hello.so, which comes first in the search order)\n", result.stdout)

    def test_list_plugins_shows_sources_and_with_v_the_rejected(self):
        self.add("hello.so")
        self.add("crash.so")
        env_dir = self.path("envdir")
        os.mkdir(env_dir, 0o755)
        self.add("hello_again.so", "other.so", directory=env_dir)
        self.env["CPPD_PLUGIN_PATH"] = env_dir
        result = self.cppd("--list-plugins")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"hello       {self.plugins}/hello.so (--plugin-path)\n", result.stdout)
        self.assertIn(f"fastpoetry  {PLUGIN_DIR}/fastpoetry.so (built-in)\n", result.stdout)
        self.assertIn(f"    {env_dir} (CPPD_PLUGIN_PATH)\n", result.stdout)
        self.assertIn("2 plugin file(s) or directories could not be used; cppd --list-plugins -v says why",
                      result.stdout)
        verbose = self.cppd("--list-plugins", "-v")
        self.assertIn(f"    {self.plugins}/crash.so (--plugin-path): crashed while loading: signal 11 "
                      "(Segmentation fault)\n", verbose.stdout)
        self.assertIn(f"    {env_dir}/other.so (CPPD_PLUGIN_PATH): duplicate tapname 'hello'", verbose.stdout)

    def test_version(self):
        result = run_cppd(["--version"])
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"^cppd \(the C\+\+ daemon runner\) \d+\.\d+\.\d+\nplugin SDK ABI \d+\n$")


class CommandTests(PluginTestCase):
    def setUp(self):
        super().setUp()
        self.add("hello.so")
        self.add("crash.so")

    def test_plugin_help_shows_description_and_options_with_defaults(self):
        result = self.cppd("hello", "--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        lines = result.stdout.splitlines()
        self.assertEqual(lines[:5], ["Usage: cppd [options] hello [plugin options]", "",
                                     "Says hello (a test plugin with one option of each kind).", "", "Options:"])
        self.assertIn("  -p, --port=PORT          A port to mention. [default: 8080]", lines)
        self.assertIn("      --root=PATH          A directory to mention. (required)", lines)
        self.assertIn("      --[no-]greet         Greet at all. [default: on]", lines)
        self.assertEqual(lines[-1], "      --help               Display this help and exit.")

    def test_option_errors_name_option_and_value_and_exit_64(self):
        hint = ""  # the plugin's usage follows the line (checked by assert_usage_error)
        self.assert_usage_error(self.cppd("hello"), "hello: option --root is required" + hint)
        self.assert_usage_error(self.cppd("hello", "--root", "x", "--count", "many"),
                                "hello: option --count: 'many' is not an integer" + hint)
        self.assert_usage_error(self.cppd("hello", "--root", "x", "--port", "abc"),
                                "hello: option --port: 'abc' is not a port number (0-65535)" + hint)
        self.assert_usage_error(self.cppd("hello", "--root", "x", "--port", "70000"),
                                "hello: option --port: '70000' is not a port number (0-65535)" + hint)
        self.assert_usage_error(self.cppd("hello", "--root", "x", "--bogus"), "hello: unknown option --bogus" + hint)
        self.assert_usage_error(self.cppd("hello", "--root", "x", "--count=-1"),
                                "hello: option --count: count must be >= 0, got -1" + hint)

    def test_a_size_beyond_64_bits_is_refused_not_wrapped_around(self):
        # 99999999999999G is about 1.07e23 bytes: it used to wrap modulo 2^64 and start with a small limit.
        self.assert_usage_error(self.cppd("hello", "--root", "x", "--limit", "99999999999999G"),
                                "hello: option --limit: '99999999999999G' is not a size (a number of bytes, "
                                "optionally with a k, M or G suffix)")

    def test_a_deployment_file_gives_typed_values_and_the_same_errors_as_the_command_line(self):
        config = self.path("hello.toml")
        with open(config, "w") as f:
            f.write('[[service]]\nplugin = "hello"\nroot = "data"\ndelay = 1.5\nlimit = 4096\nmode = 22\n')
        server = self.start_server(["--plugin-path", self.plugins, "-y", config], env=self.env)
        server.wait_for_log(rf"hello, world \(count=1, port=8080, root={self.tmp}/data, mode=18, limit=4096, "
                            r"delay=1.5, loud=false, greet=true\)")
        server.stop()
        with open(config, "w") as f:
            f.write('[[service]]\nplugin = "hello"\nroot = "data"\nlimit = -1\n')
        result = self.cppd("--nodaemon", "--pidfile=", "-y", config)
        self.assertEqual(result.returncode, 78, result.stderr)
        self.assertEqual(result.stderr, f"cppd: {config}:1: service 'hello': hello: option --limit: '-1' is not a "
                                        "size (a number of bytes, optionally with a k, M or G suffix)\n")

    def test_unknown_command_names_close_matches(self):
        self.assert_usage_error(self.cppd("helo"), "unknown command 'helo' (did you mean 'hello'?); run 'cppd --help' "
                                                   "for the list of commands")
        self.assert_usage_error(self.cppd("zzz"), "unknown command 'zzz'; run 'cppd --help' for the list of commands")

    def test_unknown_command_whose_plugin_file_failed_says_why(self):
        self.assert_usage_error(self.cppd("crash"), f"unknown command 'crash': plugin {self.plugins}/crash.so could not "
                                                    "be used: crashed while loading: signal 11 (Segmentation fault)")

    def test_the_plugin_runs_with_its_converted_options(self):
        server = self.start_server(["--plugin-path", self.plugins, "hello", "--root", "data", "--mode", "022",
                                    "--limit", "2k", "-l", "--no-greet"], env=self.env)
        server.wait_for_log(rf"hello, world \(count=1, port=8080, root={self.tmp}/data, mode=18, limit=2048, "
                            r"delay=0.5, loud=true, greet=false\)")
        self.assertEqual(server.stop(signal.SIGTERM), 0)


class TrustTests(PluginTestCase):
    def test_group_or_world_writable_plugin_file_is_refused(self):
        self.add("hello.so", mode=0o775)
        result = self.cppd()
        self.assertNotIn("    hello ", result.stdout.split("Commands:\n")[1].split("\n\n")[0])
        path = f"{self.plugins}/hello.so"
        self.assertIn(f"    {path}: refused: it is writable by its group (mode 0775); fix with chmod g-w {path}\n",
                      result.stdout)
        self.assert_usage_error(self.cppd("hello"), f"unknown command 'hello': plugin {path} could not be used: "
                                                    f"refused: it is writable by its group (mode 0775); fix with "
                                                    f"chmod g-w {path}")
        os.chmod(path, 0o646)
        self.assertIn(f"{path}: refused: it is writable by everyone (mode 0646)", self.cppd().stdout)

    def test_world_writable_plugin_directory_is_refused(self):
        self.add("hello.so")
        os.chmod(self.plugins, 0o777)
        result = self.cppd("--list-plugins", "-v")
        self.assertIn(f"    {self.plugins} (--plugin-path): plugin directory refused: it is writable by everyone "
                      f"(mode 0777); fix with chmod o-w {self.plugins}\n", result.stdout)
        self.assertNotIn("hello.so", result.stdout)

    @unittest.skipUnless(os.geteuid() == 0, "needs root")
    def test_as_root_a_plugin_owned_by_another_user_is_refused(self):
        path = self.add("hello.so")
        os.chown(path, 4242, 4242)
        env = dict(self.env)
        env.pop("SUDO_UID", None)
        result = self.cppd(env=env)
        self.assertIn(f"{path}: refused: cppd runs as root and it is owned by uid 4242, not by root\n", result.stdout)
        env["SUDO_UID"] = "4242"
        result = self.cppd(env=env)
        self.assertIn("    hello ", result.stdout)


class CacheTests(PluginTestCase):
    def cache_text(self):
        with open(self.env["CPPD_PLUGIN_CACHE"]) as f:
            return f.read()

    def test_cache_is_written_and_a_changed_file_is_rescanned(self):
        path = self.add("hello.so")
        self.assertIn("    hello ", self.cppd().stdout)
        self.assertIn(f"entry\t{path}\t", self.cache_text())
        # Replace the plugin by a crashing one under the same name: the listing must notice.
        os.remove(path)
        self.add("crash.so", "hello.so")
        result = self.cppd()
        self.assertIn(f"{path}: crashed while loading: signal 11 (Segmentation fault)", result.stdout)

    def test_deleted_plugin_is_gone_from_listing_and_cache(self):
        path = self.add("hello.so")
        self.cppd()
        os.remove(path)
        result = self.cppd()
        self.assertNotIn("    hello ", result.stdout)
        self.assertNotIn(path, self.cache_text())

    def test_corrupt_cache_is_ignored_and_rewritten(self):
        self.add("hello.so")
        self.cppd()
        text = self.cache_text().replace("Says hello", "Says HELLO")
        with open(self.env["CPPD_PLUGIN_CACHE"], "w") as f:
            f.write(text)
        result = self.cppd()
        self.assertIn("Says hello", result.stdout)
        self.assertNotIn("HELLO", result.stdout)
        self.assertIn("Says hello", self.cache_text())

    def test_unwritable_cache_location_is_silent_and_correct(self):
        self.add("hello.so")
        for location in (self.path("ro", "cache"), "/proc/cppd-no-cache/plugins.cache"):
            os.makedirs(self.path("ro"), 0o555, exist_ok=True)
            os.chmod(self.path("ro"), 0o555)
            self.env["CPPD_PLUGIN_CACHE"] = location
            result = self.cppd()
            self.assertEqual(result.returncode, 0)
            self.assertEqual(result.stderr, "")
            self.assertIn("    hello ", result.stdout)

    def test_empty_cppd_plugin_cache_disables_the_cache(self):
        self.add("hello.so")
        self.env["CPPD_PLUGIN_CACHE"] = ""
        self.env["XDG_CACHE_HOME"] = self.path("xdg")
        self.assertIn("    hello ", self.cppd().stdout)
        self.assertFalse(os.path.exists(self.path("xdg")))

    def forge_cache(self):
        """Rewrites the cache so that hello.so claims the tapname 'forged', with a valid checksum (FNV-1a 64)."""
        text = self.cache_text()
        body = text[:text.rindex("checksum\t")].replace("\tok\thello\t", "\tok\tforged\t")
        digest = 14695981039346656037
        for byte in body.encode():
            digest = ((digest ^ byte) * 1099511628211) % (1 << 64)
        with open(self.env["CPPD_PLUGIN_CACHE"], "w") as f:
            f.write(f"{body}checksum\t{digest:016x}\n")

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give the cache to another user")
    def test_a_cache_that_another_user_owns_or_can_write_is_not_believed(self):
        self.add("hello.so")
        self.cppd()
        self.forge_cache()
        self.assertIn("    forged ", self.cppd().stdout)  # our own cache is believed: the forgery is well-formed
        cache = self.env["CPPD_PLUGIN_CACHE"]
        os.chown(cache, pwd.getpwnam("nobody").pw_uid, -1)
        listing = self.cppd().stdout
        self.assertIn("    hello ", listing)
        self.assertNotIn("forged", listing)
        self.forge_cache()
        os.chmod(cache, 0o666)
        self.assertNotIn("forged", self.cppd().stdout)

    def test_default_cache_location_is_under_xdg_cache_home(self):
        self.add("hello.so")
        del self.env["CPPD_PLUGIN_CACHE"]
        self.env["XDG_CACHE_HOME"] = self.path("xdg")
        self.cppd()
        self.assertTrue(os.path.exists(self.path("xdg", "cppd", "plugins.cache")))


# The other user may not be able to reach a python installed under /root.
SYSTEM_PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def as_nobody():
    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)


@unittest.skipUnless(os.geteuid() == 0, "needs root, to act as the other user 'nobody'")
class AncestorTrustTests(PluginTestCase):
    """Every directory from / down to a plugin directory is checked (sshd's StrictModes, sudo's plugin rules)."""

    def nest(self, mode, owner=0):
        parent = self.path("parent")
        os.mkdir(parent)
        os.chmod(parent, mode)
        os.chown(parent, owner, owner)
        self.plugins = os.path.join(parent, "plugins")
        os.mkdir(self.plugins, 0o755)
        self.add("hello.so")
        return parent

    def test_a_parent_others_can_write_without_sticky_bit_is_refused_by_name(self):
        parent = self.nest(0o777)
        result = self.cppd("--list-plugins", "-v")
        self.assertIn(f"    {self.plugins} (--plugin-path): plugin directory refused: its ancestor directory {parent} "
                      f"is writable by everyone (mode 0777) and has no sticky bit, so another user could swap the "
                      f"directories below it; fix with chmod o-w {parent} (or chmod +t {parent})\n", result.stdout)
        self.assertNotIn("hello ", result.stdout)
        self.assertEqual(self.cppd("hello").returncode, 64)

    def test_a_group_writable_parent_is_refused(self):
        parent = self.nest(0o775)
        self.assertIn(f"its ancestor directory {parent} is writable by its group (mode 0775) and has no sticky bit",
                      self.cppd("--list-plugins", "-v").stdout)

    def test_a_parent_owned_by_another_user_is_refused_as_root(self):
        parent = self.nest(0o755, owner=pwd.getpwnam("nobody").pw_uid)
        env = dict(self.env)
        env.pop("SUDO_UID", None)
        uid = pwd.getpwnam("nobody").pw_uid
        self.assertIn(f"its ancestor directory {parent}: cppd runs as root and it is owned by uid {uid}, not by root",
                      self.cppd("--list-plugins", "-v", env=env).stdout)

    def test_a_sticky_world_writable_parent_is_accepted(self):
        self.nest(0o1777)
        self.assertIn("hello ", self.cppd("--list-plugins").stdout)

    def test_a_plugin_that_is_a_symlink_is_refused_with_the_reason(self):
        os.symlink(self.add("hello.so", directory=self.tmp), os.path.join(self.plugins, "linked.so"))
        self.assertIn(f"{self.plugins}/linked.so (--plugin-path): refused: it is a symbolic link",
                      self.cppd("--list-plugins", "-v").stdout)


@unittest.skipUnless(os.geteuid() == 0, "needs root, to act as the other user 'nobody'")
@unittest.skipUnless(ATTACKER_PLUGIN, "CPPD_TEST_ATTACKER_PLUGIN is not set")
class SwapRaceTests(PluginTestCase):
    """Another user swaps a checked plugin directory for their own while cppd lists and loads plugins."""

    SECONDS = 8.0

    def race(self, parent_mode):
        nobody = pwd.getpwnam("nobody")
        parent = self.path("parent")
        os.mkdir(parent)
        os.chmod(parent, parent_mode)
        self.plugins = os.path.join(parent, "plugins")
        os.mkdir(self.plugins, 0o755)
        self.add("hello.so")
        evil = os.path.join(parent, "evil")
        os.mkdir(evil, 0o755)
        shutil.copyfile(ATTACKER_PLUGIN, os.path.join(evil, "hello.so"))
        for path in (evil, os.path.join(evil, "hello.so")):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        marker = self.path("marker")  # in a directory only root can write: only cppd could leave it
        self.env["CPPD_TEST_ATTACKER_MARKER"] = marker
        self.env["CPPD_PLUGIN_CACHE"] = ""  # scan, and so load, on every run
        swapper = subprocess.Popen([SYSTEM_PYTHON, "-c", SWAPPER, self.plugins, evil, str(self.SECONDS)],
                                   preexec_fn=as_nobody, stdout=subprocess.PIPE, text=True)
        runs, listings = 0, []
        try:
            deadline = time.monotonic() + self.SECONDS - 0.5
            while time.monotonic() < deadline and runs < 200 and not os.path.exists(marker):
                listings.append(self.cppd("--list-plugins", "-v").stdout)
                self.cppd("hello", "--help")
                runs += 1
        finally:
            swaps = int(swapper.communicate(timeout=self.SECONDS + 30)[0] or 0)
        return marker, runs, swaps, listings

    def test_the_other_users_code_never_runs_when_the_parent_is_writable(self):
        marker, runs, swaps, listings = self.race(0o777)
        self.assertGreater(swaps, 0)
        self.assertFalse(os.path.exists(marker), f"the attacker's constructor ran within {runs} runs")
        for listing in listings:
            self.assertIn("plugin directory refused: its ancestor directory", listing)

    def test_a_sticky_parent_stops_the_swap_and_the_plugin_still_works(self):
        marker, runs, swaps, listings = self.race(0o1777)
        self.assertEqual(swaps, 0)  # only an entry's owner may rename it in a sticky directory
        self.assertFalse(os.path.exists(marker), f"the attacker's constructor ran within {runs} runs")
        self.assertTrue(all("hello " in listing for listing in listings))


if __name__ == "__main__":
    unittest.main()
