"""The plugin system end to end: the real cppd against per-test plugin directories holding good and bad plugins.

Each test copies the test plugins it needs (built into CPPD_TEST_PLUGIN_DIR, outside the built-in plugin directory)
into its own directory and runs `cppd --plugin-path DIR ...`. cppd learns what a plugin is from the metadata note
cppd_add_plugin wrote into it, never by loading it: only the plugin that is started is loaded.
"""
import os
import pwd
import re
import resource
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import time
import unittest

from cppdtest import PLUGIN_DIR, STRACE, TempDirTestCase, run_cppd, strace_works, wait_for, without_leak_check

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
    # Field by field, naming both values (the test plugin claims the next SDK ABI and the next fmt major).
    "abi_mismatch.so": r"built for cppd SDK ABI {next}, this cppd provides {abi}; built with fmt (\d+)\.\d+\.\d+, "
                       r"this cppd with fmt (\d+)\.\d+\.\d+",
    "no_entry.so": re.escape("no cppd metadata note (.note.cppd.plugin): not built with cppd_add_plugin of this cppd; "
                             "rebuild it with cppd_add_plugin"),
}

# Test plugins that crash, hang or throw when loaded (or cannot be loaded): listed from their notes all the same.
MISBEHAVING = ("crash", "hang", "throwing", "unresolved")


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
        self.env.pop("CPPD_PLUGIN_PATH", None)
        # Each test starts with an empty note cache of its own: what it checks is read from the plugin files.
        self.env["XDG_CACHE_HOME"] = self.path("cache")

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
        expected["junk.so"] = re.escape(expected["junk.so"])
        for name, reason in expected.items():
            self.assertRegex(failures, rf"    {re.escape(self.plugins)}/{re.escape(name)}: {reason}\n")
        fmt_plugin, fmt_cppd = re.search(expected["abi_mismatch.so"], failures).groups()
        self.assertEqual(int(fmt_plugin), int(fmt_cppd) + 1)
        self.assertRegex(failures, rf"    {self.plugins}/truncated\.so: truncated ELF file: 3000 bytes, its headers "
                                   r"describe \d+\n")

    def test_plugins_that_crash_hang_or_throw_when_loaded_are_listed_from_their_notes_without_running(self):
        for name in MISBEHAVING:
            self.add(f"{name}.so")
        result = self.cppd()
        self.assertEqual(result.returncode, 0, result.stderr)
        commands = result.stdout.split("Commands:\n")[1].split("\n\n")[0]
        for name in MISBEHAVING:
            self.assertRegex(commands, rf"    {name} +A test plugin named {name}\.\n")
        self.assertNotIn("could not be used", result.stdout)
        # A plugin's help comes from its note too: the crashing and the hanging one are never loaded for it.
        for name in ("crash", "hang"):
            result = self.cppd(name, "--help")
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn(f"Usage: cppd [options] {name} [plugin options]\n\nA test plugin named {name}.\n",
                          result.stdout)

    def test_the_started_plugin_is_loaded_with_rtld_now_and_its_failures_are_reported(self):
        self.add("unresolved.so")
        self.add("throwing.so")
        result = self.cppd("unresolved")
        self.assertEqual(result.returncode, 70, result.stderr)
        self.assertEqual(result.stderr, f"cppd: plugin {self.plugins}/unresolved.so: cannot load: undefined symbol: "
                                        "cppd_test_symbol_nobody_defines\n")
        result = self.cppd("throwing")
        self.assertEqual(result.returncode, 70, result.stderr)
        self.assertEqual(result.stderr, f"cppd: plugin {self.plugins}/throwing.so: its service-maker factory failed: "
                                        "cannot read /etc/throwing.conf\n")

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
        self.add("abi_mismatch.so")
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
        self.assertIn(f"    {self.plugins}/abi_mismatch.so (--plugin-path): built for cppd SDK ABI ", verbose.stdout)
        self.assertIn(f"    {env_dir}/other.so (CPPD_PLUGIN_PATH): duplicate tapname 'hello'", verbose.stdout)

    def test_version(self):
        result = run_cppd(["--version"])
        self.assertEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"^cppd \(the C\+\+ daemon runner\) \d+\.\d+\.\d+\nplugin SDK ABI \d+\n$")


class CommandTests(PluginTestCase):
    def setUp(self):
        super().setUp()
        self.add("hello.so")
        self.add("abi_mismatch.so")

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
        result = self.cppd("abi_mismatch")
        self.assertEqual(result.returncode, 64, result.stderr)
        self.assertTrue(result.stderr.startswith(f"cppd: unknown command 'abi_mismatch': plugin {self.plugins}/"
                                                 f"abi_mismatch.so could not be used: built for cppd SDK ABI "),
                        result.stderr)

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


class NoteTests(PluginTestCase):
    def test_a_replaced_plugin_file_is_described_by_its_new_note(self):
        path = self.add("hello.so")
        self.assertIn("    hello ", self.cppd().stdout)
        os.remove(path)
        self.add("crash.so", "hello.so")
        result = self.cppd()
        self.assertIn("    crash ", result.stdout)
        self.assertNotIn("    hello ", result.stdout)

    def test_a_note_that_lies_about_its_size_is_refused_with_the_reason(self):
        with open(os.path.join(TEST_PLUGINS, "hello.so"), "rb") as f:
            data = bytearray(f.read())
        at = data.find(b"cppd\0\0\0\0\x01\0\0\0") - 12  # owner name, then the format version
        self.assertGreaterEqual(at, 0)
        data[at + 4:at + 8] = (1 << 30).to_bytes(4, "little")  # the descriptor size
        self.write("plugins/liar.so", bytes(data), mode=0o755)
        result = self.cppd()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertRegex(result.stdout, rf"    {re.escape(self.plugins)}/liar\.so: its metadata note claims 1073741824 "
                                        r"bytes of metadata, the section holds \d+\n")

    def test_a_plugin_whose_code_declares_other_options_than_its_note_is_refused_when_started(self):
        # The same length, so only the meaning changes: what --help showed is not what the code would read.
        with open(os.path.join(TEST_PLUGINS, "hello.so"), "rb") as f:
            data = f.read()
        note_at = data.find(b"cppd\0\0\0\0\x01\0\0\0")
        self.assertGreaterEqual(note_at, 0)
        help_at = data.find(b"Who to greet.", note_at)
        self.assertGreater(help_at, note_at)
        edited = data[:help_at] + b"Who to fight." + data[help_at + len(b"Who to greet."):]
        self.write("plugins/hello.so", edited, mode=0o755)
        self.assertIn("Who to fight.", self.cppd("hello", "--help").stdout)  # help comes from the note
        result = self.cppd("-n", "--pidfile=", "hello", "--root", self.tmp)
        self.assertEqual(result.returncode, 65, result.stderr)
        self.assertIn("its options differ from those its metadata note declares (rebuild it with cppd_add_plugin)",
                      result.stderr)

    def test_file_names_and_commands_that_would_drive_a_terminal_are_shown_escaped(self):
        self.add("hello.so", "x\x1b[2J\nFAKE.so")
        listing = self.cppd("--list-plugins", "-v").stdout
        self.assertNotIn("\x1b", listing)
        self.assertIn("x\\x1b[2J\\nFAKE.so", listing)
        unknown = self.cppd("zz\x1b[31m")
        self.assertNotEqual(unknown.returncode, 0)
        self.assertIn("unknown command 'zz\\x1b[31m'", unknown.stderr)


@unittest.skipUnless(strace_works(), "strace is missing or cannot trace here (no ptrace)")
class NoLoadingTests(PluginTestCase):
    """What cppd shows about plugins it does not start comes from their notes: no process, no mapping."""

    def traced(self, *args):
        log = self.path("strace.log")
        command = [STRACE, "-f", "-y", "-o", log, "-e", "trace=clone,clone3,fork,vfork,execve,mmap",
                   os.environ["CPPD_BIN"], "--plugin-path", self.plugins, *args]
        env = without_leak_check(self.env)  # LeakSanitizer would stop the world with a clone
        result = subprocess.run(command, env=env, cwd=self.tmp, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(log) as f:
            return result.stdout, f.read().splitlines()

    def assert_no_plugin_code(self, calls):
        processes = [c for c in calls if re.search(r"\b(clone3?|v?fork)\(", c)]
        execs = [c for c in calls if "execve(" in c]
        mapped = [c for c in calls if "mmap(" in c and ".so>" in c and
                  (self.plugins in c or "/plugins/" in c)]
        self.assertEqual(processes, [])
        self.assertEqual(len(execs), 1, execs)  # strace starting cppd itself
        self.assertEqual(mapped, [])

    def test_a_listing_of_good_bad_and_hostile_plugins_forks_nothing_and_maps_no_plugin(self):
        for name in ("hello.so", "abi_mismatch.so", "no_entry.so", *(f"{n}.so" for n in MISBEHAVING)):
            self.add(name)
        stdout, calls = self.traced()
        self.assertIn("    crash ", stdout)
        self.assertIn("    fastpoetry ", stdout)
        self.assert_no_plugin_code(calls)

    def test_a_listing_reads_each_plugin_file_with_one_fstat_and_one_read(self):
        # Each system call counts when a listing reads hundreds of plugin files: cppd_add_plugin writes the note
        # into the room each plugin keeps for it in its first page, which the read of the ELF and program headers
        # holds. (At the end of the file it took a second read, before the symbol table a third.)
        for index in range(5):
            self.add("hello.so", f"hello{index}.so")
        log = self.path("strace-reads.log")
        command = [STRACE, "-y", "-o", log, "-e", "trace=pread64,read,fstat,newfstatat,statx",
                   os.environ["CPPD_BIN"], "--plugin-path", self.plugins]
        env = dict(self.env, ASAN_OPTIONS=":".join(filter(None, [self.env.get("ASAN_OPTIONS"), "detect_leaks=0"])))
        result = subprocess.run(command, env=env, cwd=self.tmp, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(log) as f:
            calls = f.read().splitlines()
        files = [os.path.join(os.path.realpath(self.plugins), f"hello{index}.so") for index in range(5)]
        files += [os.path.join(os.path.realpath(PLUGIN_DIR), f"{name}.so") for name in ("fastpoetry", "ftp", "web")]
        for path in files:
            mine = [c for c in calls if f"<{path}>" in c]
            reads = [c for c in mine if c.startswith(("pread64(", "read("))]
            stats = [c for c in mine if c.startswith(("fstat(", "newfstatat(", "statx("))]
            self.assertEqual(len(reads), 1, mine)
            self.assertEqual(len(stats), 1, mine)

    def test_a_plugins_help_forks_nothing_and_maps_no_plugin(self):
        self.add("hello.so")
        stdout, calls = self.traced("hello", "--help")
        self.assertIn("--root=PATH", stdout)
        self.assert_no_plugin_code(calls)


@unittest.skipUnless(strace_works(), "strace is missing or cannot trace here (no ptrace)")
class NoteCacheTests(PluginTestCase):
    """A listing of unchanged plugins comes from the user's note cache and opens none of them; anything that
    changes a file, or a cache someone else could have written, sends the listing back to the file."""

    def cache_file(self):
        return os.path.join(self.env["XDG_CACHE_HOME"], "cppd", "plugin-notes")

    def listing(self):
        """cppd's listing, and the plugin files (in self.plugins) it opened."""
        log = self.path("strace-open.log")
        command = [STRACE, "-o", log, "-e", "trace=openat,open", os.environ["CPPD_BIN"], "--plugin-path", self.plugins]
        result = subprocess.run(command, env=without_leak_check(self.env), cwd=self.tmp, capture_output=True,
                                text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(log) as f:
            opened = [line for line in f if re.search(r'openat\(\d+, "[^"/]+\.so"', line)]
        return result.stdout, opened

    def listed_from_cache(self):
        """Lists until a listing opens no plugin file: a file is cached once its change time is 0.1 s old."""
        return wait_for(lambda: (lambda out, opened: out if not opened else None)(*self.listing()),
                        what="a listing that opens no plugin file")

    def rename_in_place(self, path, old, new):
        """Rewrites the tapname in path's note (same length: same size), keeping inode and modification time."""
        stat = os.stat(path)
        with open(path, "r+b") as f:
            head = f.read(4096)
            at = head.index(struct.pack("<I", len(old)) + old.encode())
            f.seek(at + 4)
            f.write(new.encode())
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        self.assertEqual((os.stat(path).st_ino, os.stat(path).st_size, os.stat(path).st_mtime_ns),
                         (stat.st_ino, stat.st_size, stat.st_mtime_ns))

    def test_an_unchanged_plugin_is_listed_from_the_cache_without_opening_it(self):
        self.add("hello.so")
        first, opened = self.listing()
        self.assertTrue(opened, "the first listing reads the plugin")
        self.assertIn("    hello ", first)
        self.assertEqual(self.listed_from_cache(), first)
        st = os.stat(self.cache_file())
        self.assertEqual((st.st_mode & 0o777, st.st_uid), (0o600, os.geteuid()))
        self.assertEqual(os.stat(os.path.dirname(self.cache_file())).st_mode & 0o777, 0o700)

    def test_a_plugin_changed_in_place_is_read_again_even_with_the_same_size_and_mtime(self):
        path = self.add("hello.so")
        self.listed_from_cache()
        self.rename_in_place(path, "hello", "hellp")  # only its change time (which no user can set) says so
        out, opened = self.listing()
        self.assertTrue(opened)
        self.assertIn("    hellp ", out)
        self.assertNotIn("    hello ", out)

    def test_the_plugin_that_runs_or_shows_its_help_is_read_from_its_file_not_the_cache(self):
        self.add("hello.so")
        self.listed_from_cache()
        # The user's own cache says something else about the plugin: the listing shows it, the help does not.
        with open(self.cache_file(), "rb") as f:
            cached = f.read()
        with open(self.cache_file(), "wb") as f:
            f.write(cached.replace(b"Says hello", b"Says howdy"))
        out, opened = self.listing()
        self.assertEqual(opened, [])
        self.assertIn("Says howdy", out)
        result = self.cppd("hello", "--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("--root=PATH", result.stdout)
        self.assertIn("Says hello", result.stdout)
        self.assertNotIn("howdy", result.stdout)

    def test_a_cache_others_could_write_is_ignored_and_replaced(self):
        self.add("hello.so")
        self.listed_from_cache()
        with open(self.cache_file(), "rb") as f:
            forged = f.read().replace(struct.pack("<I", 5) + b"hello", struct.pack("<I", 5) + b"forgd")
        self.assertIn(b"forgd", forged)
        with open(self.cache_file(), "wb") as f:
            f.write(forged)
        os.chmod(self.cache_file(), 0o622)  # writable by group and others: not the user's own words
        out, opened = self.listing()
        self.assertTrue(opened)
        self.assertIn("    hello ", out)
        self.assertNotIn("forgd", out)
        # The directory others could write to is never used at all.
        os.chmod(os.path.dirname(self.cache_file()), 0o777)
        out, opened = self.listing()
        self.assertTrue(opened)
        self.assertIn("    hello ", out)

    @unittest.skipUnless(os.geteuid() == 0, "needs root, to own less than the HOME it is given")
    def test_root_given_another_users_home_leaves_nothing_there(self):
        # sudo may keep the invoking user's HOME: root must not make root-owned directories in it.
        home = self.path("home")
        os.mkdir(home, 0o755)
        nobody = pwd.getpwnam("nobody")
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        env = dict(self.env, HOME=home)
        env.pop("XDG_CACHE_HOME")
        for _ in range(2):
            result = self.cppd(env=env)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("    fastpoetry ", result.stdout)
        self.assertEqual(os.listdir(home), [])

    def test_a_cache_path_through_a_symbolic_link_is_never_written(self):
        # A link planted in a HOME (~/.cache -> a directory of root's) must not lead root to write there.
        home, target = self.path("linkhome"), self.path("target")
        os.mkdir(home, 0o700)
        os.mkdir(target, 0o755)
        os.symlink(target, os.path.join(home, ".cache"))
        env = dict(self.env, HOME=home)
        env.pop("XDG_CACHE_HOME")
        result = self.cppd(env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(os.listdir(target), [])

    def test_a_corrupt_or_hostile_cache_is_ignored_then_rewritten(self):
        self.add("hello.so")
        self.listed_from_cache()
        with open(self.cache_file(), "rb") as f:
            good = f.read()
        escape = good.replace(b"Says hello", b"Says \x1b[31m")  # what a note could never say: refused whole
        for bad in (b"", good[:-1], good + b"x", b"cppd plugin note cache 1\n" + b"\xff" * 64, escape):
            with open(self.cache_file(), "wb") as f:
                f.write(bad)
            out, opened = self.listing()
            self.assertTrue(opened, bad[:40])
            self.assertIn("    hello ", out)
            self.assertNotIn("\x1b", out)
            self.assertEqual(self.listed_from_cache(), out)


def sanitized():
    """Whether cppd was built with the sanitizers (it then names libasan among its libraries)."""
    with open(os.environ["CPPD_BIN"], "rb") as f:
        return b"libasan.so" in f.read()


@unittest.skipIf(sanitized(), "a sanitizer build's allocator and shadow memory fault pages of their own")
class ListingCostTests(PluginTestCase):
    """What a listing keeps per plugin file: a page fault costs more than a system call on a virtual machine."""

    def faults(self, *args):
        """Median minor page faults of five runs of cppd --plugin-path PLUGINS *args."""
        counts = []
        for _ in range(5):
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt
            result = self.cppd(*args)
            counts.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_minflt - before)
            self.assertEqual(result.returncode, 0, result.stderr)
        return statistics.median(counts)

    def test_a_listing_faults_in_less_than_half_a_page_per_plugin(self):
        # 3 plugins, then 63: each a copy of hello.so with a tapname of its own (same length, so its note stays
        # valid), all usable. A listing that kept every note's options took 0.78 pages per plugin; it keeps
        # what it shows (0.15), and reads the rest again for the one plugin started.
        with open(os.path.join(TEST_PLUGINS, "hello.so"), "rb") as f:
            image = bytearray(f.read())
        tapname_at = image.rfind(b"\x05\x00\x00\x00hello") + 4
        self.assertGreater(tapname_at, 4)
        def write(count):
            for index in range(count):
                image[tapname_at:tapname_at + 5] = f"h{index:04d}".encode()
                target = os.path.join(self.plugins, f"p{index:03d}.so")
                with open(target, "wb") as f:
                    f.write(image)
                os.chmod(target, 0o755)
        write(3)
        few = self.faults()
        self.assertIn("    h0002 ", self.cppd().stdout)
        write(63)
        many = self.faults()
        self.assertIn("    h0062 ", self.cppd().stdout)
        self.assertLess((many - few) / 60, 0.4, f"{few} page faults with 3 plugins, {many} with 63")


BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
COMPLETION_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runner", "dist",
                                 "cppd.bash-completion")


@unittest.skipUnless(os.path.exists(BASH_COMPLETION), "bash-completion is not installed")
class CompletionTests(PluginTestCase):
    """Completion asks cppd, which answers from the notes: plugins that crash or hang when loaded complete too."""

    def complete(self, *words, env_path=True):
        cppd = os.environ["CPPD_BIN"]
        line = " ".join([cppd, *words])
        script = (f"source {BASH_COMPLETION}; source {COMPLETION_SCRIPT}; "
                  f"COMP_WORDS=({cppd} {' '.join(repr(w) for w in words)}); COMP_CWORD={len(words)}; "
                  f"COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; _cppd; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        env = dict(self.env, CPPD_PLUGIN_PATH=self.plugins if env_path else "")
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.split()

    def test_names_and_options_of_plugins_that_crash_or_hang_when_loaded_complete(self):
        self.add("hang.so")
        self.add("crash.so")
        self.add("hello.so")
        self.assertEqual(self.complete("ha"), ["hang"])
        self.assertEqual(self.complete("cr"), ["crash"])
        self.assertEqual(self.complete("hang", "--he"), ["--help"])
        self.assertEqual(sorted(self.complete("hello", "--r")), ["--root="])

    def test_plugin_path_words_and_negatable_flags_complete(self):
        self.add("hello.so")
        self.assertEqual(self.complete("--plugin-path", self.plugins, "hel", env_path=False), ["hello"])
        self.assertEqual(self.complete(f"--plugin-path={self.plugins}", "hel", env_path=False), ["hello"])
        self.assertEqual(sorted(self.complete("--plugin-path", self.plugins, "hello", "--gr", env_path=False)),
                         ["--greet"])
        self.assertEqual(sorted(self.complete("--plugin-path", self.plugins, "hello", "--no-g", env_path=False)),
                         ["--no-greet"])


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
        swapper = subprocess.Popen([SYSTEM_PYTHON, "-c", SWAPPER, self.plugins, evil, str(self.SECONDS)],
                                   preexec_fn=as_nobody, stdout=subprocess.PIPE, text=True)
        runs, listings = 0, []
        try:
            deadline = time.monotonic() + self.SECONDS - 0.5
            while time.monotonic() < deadline and runs < 200 and not os.path.exists(marker):
                listings.append(self.cppd("--list-plugins", "-v").stdout)
                # Loads the plugin (a validator refuses the value afterwards): help alone would not load it.
                self.cppd("hello", "--root", "x", "--count=-1")
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
