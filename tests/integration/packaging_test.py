"""What an installation carries: the man page kept in step with --help, bash completion of runner options,
plugin names and plugin options, the install layout, and the .deb that CPack builds."""
import os
import re
import shutil
import signal
import subprocess
import unittest

from cppdtest import BUILD_DIR, CPPD, SOURCE_DIR, TempDirTestCase, fetch, run_cppd, wait_for_log

CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")
DIST = os.path.join(SOURCE_DIR, "runner", "dist")
STEP_TIMEOUT = 300
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"


def long_options(text):
    return set(re.findall(r"--[a-z][a-z-]*[a-z]", text))


class ManPageTest(unittest.TestCase):
    def test_the_man_page_documents_exactly_the_options_of_help(self):
        help_text = run_cppd(["--help"]).stdout
        with open(os.path.join(DIST, "cppd.1")) as f:
            man = f.read().replace("\\-", "-")
        options_section = man.split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
        self.assertEqual(long_options(options_section), long_options(help_text.split("Commands:")[0]))
        for short in re.findall(r"^\s+(-[a-z]),", help_text, re.M):
            self.assertIn(f".BR {short} ", options_section, f"{short} is missing from the man page")


@unittest.skipUnless(os.path.exists(BASH_COMPLETION), "bash-completion is not installed")
class BashCompletionTest(unittest.TestCase):
    def complete(self, *words):
        """Runs the completion function for words (the last one being completed) and returns its candidates."""
        line = " ".join([CPPD, *words])
        script = (f"source {BASH_COMPLETION}; source {os.path.join(DIST, 'cppd.bash-completion')}; "
                  f"COMP_WORDS=({CPPD} {' '.join(repr(w) for w in words)}); COMP_CWORD={len(words)}; "
                  f"COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; _cppd; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout.split()

    def test_runner_options_complete(self):
        self.assertEqual(self.complete("--pid"), ["--pidfile="])
        self.assertIn("--nodaemon", self.complete("--no"))

    def test_plugin_names_complete(self):
        self.assertEqual(self.complete("-n", "fastp"), ["fastpoetry"])

    def test_a_plugins_options_complete_after_its_name(self):
        self.assertEqual(sorted(self.complete("-n", "--pidfile", "x.pid", "fastpoetry", "--po")), ["--poem=", "--port="])


class InstallTest(TempDirTestCase):
    def run_step(self, *args, **kwargs):
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=STEP_TIMEOUT, **kwargs)
        self.assertEqual(result.returncode, 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def test_an_install_carries_man_page_completion_units_poems_and_example(self):
        prefix = self.path("prefix")
        self.run_step(CMAKE, "--install", BUILD_DIR, "--prefix", prefix)
        for wanted in ("share/man/man1/cppd.1", "share/bash-completion/completions/cppd", "bin/cppdctl",
                       "share/man/man1/cppdctl.1", "share/bash-completion/completions/cppdctl",
                       "lib/systemd/system/cppd@.service", "lib/systemd/system/cppd-poetry.socket",
                       "share/cppd/poetry/ecstasy.txt", "share/doc/cppd/examples/two-poems.toml"):
            self.assertTrue(os.path.exists(os.path.join(prefix, wanted)), wanted)
        cppd = os.path.join(prefix, "bin", "cppd")
        log = self.path("installed.log")
        server = subprocess.Popen([cppd, "-n", "--pidfile=", "--logfile", log, "fastpoetry", "--port",
                                   "tcp:0:interface=127.0.0.1", "--poem",
                                   os.path.join(prefix, "share/cppd/poetry/ecstasy.txt")],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            port = int(wait_for_log(log, r"starting on (\d+)").group(1))
            with open(os.path.join(prefix, "share/cppd/poetry/ecstasy.txt"), "rb") as f:
                self.assertEqual(fetch("127.0.0.1", port), f.read())
            server.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(timeout=20), 0)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()


@unittest.skipUnless(shutil.which("cpack") and shutil.which("dpkg-deb") and shutil.which("dpkg-shlibdeps"),
                     "cpack, dpkg-deb and dpkg-shlibdeps (dpkg-dev) are needed to build the .deb")
class DebianPackageTest(TempDirTestCase):
    def test_the_deb_has_the_files_and_exact_dependencies_and_runs_extracted(self):
        out = self.path("deb")
        result = subprocess.run(["cpack", "-G", "DEB", "-B", out], cwd=BUILD_DIR, capture_output=True, text=True,
                                timeout=STEP_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        self.assertEqual(len(debs), 1, debs)
        deb = os.path.join(out, debs[0])
        info = subprocess.run(["dpkg-deb", "-I", deb], capture_output=True, text=True, check=True).stdout
        depends = re.search(r"^ Depends: (.*)$", info, re.M).group(1)
        for library in ("libuv1", "libfmt9", "libhttp-parser2.9", "libstdc++6", "libc6"):
            self.assertIn(library, depends)
        contents = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
        for wanted in ("./usr/bin/cppd", "/cppd/plugins/fastpoetry.so", "./usr/include/cppd/plugin.hpp",
                       "./usr/include/cppd/testing/string_transport.hpp",
                       "/cmake/cppd/cppdConfig.cmake", "./usr/share/man/man1/cppd.1",
                       "./usr/share/bash-completion/completions/cppd", "./usr/lib/systemd/system/cppd@.service",
                       "./usr/share/cppd/poetry/ecstasy.txt", "./usr/bin/cppdctl", "./usr/share/man/man1/cppdctl.1",
                       "./usr/share/bash-completion/completions/cppdctl"):
            self.assertIn(wanted, contents)
        # The SONAME follows the SDK ABI version, which cppd --version reports.
        abi = re.search(r"plugin SDK ABI (\d+)", run_cppd(["--version"]).stdout).group(1)
        self.assertRegex(contents, rf"\./usr/lib/(x86_64-linux-gnu/)?libcppd\.so\.{abi} ")

        # Unpacked anywhere, the binary finds its library and its plugins relative to itself.
        root = self.path("root")
        subprocess.run(["dpkg-deb", "-x", deb, root], check=True, timeout=STEP_TIMEOUT)
        listing = subprocess.run([os.path.join(root, "usr/bin/cppd"), "--list-plugins"], capture_output=True,
                                 text=True, timeout=30)
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertRegex(listing.stdout, r"fastpoetry\s+" + re.escape(root) + r"/usr/lib/(x86_64-linux-gnu/)?cppd/plugins/fastpoetry\.so")


if __name__ == "__main__":
    unittest.main()
