"""Library search paths: no ELF file the build makes, in the build tree or installed, has an empty or relative
RUNPATH/RPATH entry (an empty one means the current directory), and the build tree's cppd run from a directory
holding a hostile libfmt.so.9 and libcppd.so.N never loads them."""
import os
import re
import shutil
import subprocess
import unittest

from cppdtest import BUILD_DIR, CPPD, POETRY_DIR, SOURCE_DIR, TempDirTestCase, run_cppd

CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")
STEP_TIMEOUT = 240
ELF_MAGIC = b"\x7fELF"
FUZZ_BUILD_DIR = os.path.join(SOURCE_DIR, "build", "fuzz")  # where tests/fuzz/run builds the fuzz targets


def elf_files(top):
    """Every regular ELF file under top (object files are ELF too; they carry no dynamic section)."""
    for folder, _, names in os.walk(top):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                if f.read(4) == ELF_MAGIC:
                    yield path


def search_paths(path):
    """The RUNPATH and RPATH strings of path's dynamic section, as readelf -d shows them."""
    result = subprocess.run(["readelf", "-d", "-W", path], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise AssertionError(f"readelf -d {path} failed: {result.stderr}")
    return re.findall(r"\((?:RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[(.*)\]", result.stdout)


def unsafe_entries(value):
    """The entries of a search path the loader would take relative to the current directory: empty ones, and
    relative ones (only $ORIGIN makes a relative path safe: it is the directory of the file itself)."""
    return [entry for entry in value.split(":")
            if not (entry.startswith("/") or re.match(r"^\$(ORIGIN|\{ORIGIN\})(/|$)", entry))]


def unsafe_search_paths(top):
    """'file: [search path]' for every ELF file under top whose RUNPATH or RPATH has an unsafe entry."""
    return [f"{os.path.relpath(path, top)}: [{value}]" for path in elf_files(top) for value in search_paths(path)
            if unsafe_entries(value)]


class SearchPathScan(TempDirTestCase):
    def assert_no_unsafe_entry(self, top, least=5):
        self.assertGreaterEqual(sum(1 for _ in elf_files(top)), least, f"found almost no ELF files under {top}")
        self.assertEqual(unsafe_search_paths(top), [],
                         "search paths with an empty or relative entry (the current directory)")

    def test_the_unsafe_entry_check_catches_empty_and_relative_entries(self):
        self.assertEqual(unsafe_entries("/b/sdk:"), [""])
        self.assertEqual(unsafe_entries("::/x"), ["", ""])
        self.assertEqual(unsafe_entries("lib:/x:./y"), ["lib", "./y"])
        self.assertEqual(unsafe_entries("$ORIGINAL/x"), ["$ORIGINAL/x"])
        self.assertEqual(unsafe_entries("$ORIGIN/../lib:${ORIGIN}:/usr/lib"), [])

    @unittest.skipUnless(BUILD_DIR, "CPPD_BUILD_DIR is not set")
    def test_no_elf_in_the_build_tree_searches_the_current_directory(self):
        self.assert_no_unsafe_entry(BUILD_DIR)

    @unittest.skipUnless(os.path.isdir(FUZZ_BUILD_DIR), f"no fuzz build in {FUZZ_BUILD_DIR} (tests/fuzz/run makes it)")
    def test_no_elf_in_the_fuzz_build_searches_the_current_directory(self):
        self.assert_no_unsafe_entry(FUZZ_BUILD_DIR, least=1)

    @unittest.skipUnless(BUILD_DIR, "CPPD_BUILD_DIR is not set")
    def test_cppd_names_libstdcxx_and_libc_before_its_other_libraries(self):
        # The dynamic linker looks each of the ~2,800 start-up symbols up in this order: libstdc++'s own 1,700
        # find it second instead of after http-parser, libcppd and fmt (runner/CMakeLists.txt).
        result = subprocess.run(["readelf", "-d", "-W", CPPD], capture_output=True, text=True, timeout=30)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.*)\]", result.stdout)
        if any(name.startswith("libasan") for name in needed):
            self.skipTest("a sanitizer build: its runtime must come first")
        self.assertEqual(needed[:2], ["libstdc++.so.6", "libc.so.6"], needed)

    def test_no_installed_elf_searches_the_current_directory(self):
        prefix = self.path("prefix")
        result = subprocess.run([CMAKE, "--install", BUILD_DIR, "--prefix", prefix], capture_output=True, text=True,
                                timeout=STEP_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertTrue(os.path.exists(os.path.join(prefix, "bin", "cppd")))
        self.assert_no_unsafe_entry(prefix)
        # The installed cppd still finds the installed libcppd, through $ORIGIN.
        version = subprocess.run([os.path.join(prefix, "bin", "cppd"), "--version"], capture_output=True, text=True,
                                 timeout=30)
        self.assertEqual(version.returncode, 0, version.stderr)


HOSTILE_SOURCE = r"""
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void mark(void) {
  int fd = open(MARKER, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) { write(fd, NAME "\n", sizeof NAME); close(fd); }
}
"""


def needed_path(binary, soname):
    """Where the loader finds soname for binary today (from ldd), or None."""
    result = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=30)
    m = re.search(rf"^\s*{re.escape(soname)} => (/\S+)", result.stdout, re.M)
    return m.group(1) if m else None


@unittest.skipUnless(shutil.which("cc") and shutil.which("ldd"), "needs cc and ldd")
class HostileCurrentDirectory(TempDirTestCase):
    def plant(self, soname, real):
        """A library named soname in the test directory whose constructor appends its name to the marker file; its
        symbols come from the real library (an ELF filter), so a program that loads it runs on unaware."""
        source = self.path(f"{soname}.c")
        self.write(f"{soname}.c", HOSTILE_SOURCE)
        result = subprocess.run(["cc", "-shared", "-fPIC", f"-DMARKER=\"{self.marker}\"", f"-DNAME=\"{soname}\"",
                                 "-o", self.path(soname), source, f"-Wl,-soname,{soname}", f"-Wl,--filter,{real}"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_cppd_run_from_a_directory_with_hostile_libraries_never_loads_them(self):
        self.marker = self.path("MARKER")
        planted = 0
        for soname in ("libfmt.so.9", "libuv.so.1", f"libcppd.so.{self.sdk_abi()}"):
            real = needed_path(CPPD, soname) or needed_path(os.path.join(BUILD_DIR, "plugins", "web.so"), soname)
            if real:
                self.plant(soname, real)
                planted += 1
        self.assertGreaterEqual(planted, 2, "found too few of cppd's libraries to plant")
        # The planted filter works: loaded on purpose, it leaves its mark (so a missing mark below means something).
        # (In the sanitizer build ASan wants to be the first library: let it start second for this probe.)
        env = dict(os.environ, LD_PRELOAD=self.path("libfmt.so.9"),
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
        probe = subprocess.run([CPPD, "--version"], cwd=self.tmp, env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(probe.returncode, 0, probe.stderr)
        self.assertTrue(os.path.exists(self.marker), "the planted library did not mark when preloaded")
        os.unlink(self.marker)

        self.assertEqual(run_cppd(["--version"], cwd=self.tmp).returncode, 0)
        # A plugin loaded, started and stopped, from the same directory.
        server = self.start_server(["fastpoetry", "--port", "tcp:0:interface=127.0.0.1", "--poem",
                                    os.path.join(POETRY_DIR, "ecstasy.txt")])
        server.listening_port()
        self.assertEqual(server.stop(), 0)
        if os.path.exists(self.marker):
            with open(self.marker) as f:
                self.fail(f"cppd loaded the current directory's {', '.join(sorted(set(f.read().split())))}")

    @staticmethod
    def sdk_abi():
        m = re.search(r"plugin SDK ABI (\d+)", run_cppd(["--version"]).stdout)
        return m.group(1) if m else "0"


if __name__ == "__main__":
    unittest.main()
