"""Packaging for plugin authors: install cppd into a temporary prefix, build a plugin out of tree with
find_package(cppd) + cppd_add_plugin(), and run it through CPPD_PLUGIN_PATH and from the installed plugin dir.
The plugin gets its metadata note with no extra step (cppd lists it from the note), and one built with clang++
against the g++-built package loads: the ABI stamp compares what crosses the boundary, not the compiler."""
import os
import shutil
import signal
import subprocess
import unittest

import runpath_test
from cppdtest import BUILD_DIR, SOURCE_DIR, TempDirTestCase, wait_for_log

CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")
GENERATOR = os.environ.get("CPPD_CMAKE_GENERATOR", "")
STEP_TIMEOUT = 240


class OutOfTreePluginTests(TempDirTestCase):
    def run_step(self, *args, env=None):
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=STEP_TIMEOUT, env=env)
        self.assertEqual(result.returncode, 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def install_and_build(self, compiler=None):
        """Installs cppd into a fresh prefix and builds the out-of-tree plugin against it; returns both paths."""
        prefix = self.path("prefix")
        build = self.path("build")
        self.run_step(CMAKE, "--install", BUILD_DIR, "--prefix", prefix)
        for wanted in ("bin/cppd", "lib/cmake/cppd/cppdConfig.cmake", "lib/cmake/cppd/cppdConfigVersion.cmake",
                       "lib/cmake/cppd/CppdPlugin.cmake", "include/cppd/plugin.hpp", "include/cppd/version.hpp",
                       "include/cppd/testing/string_transport.hpp",
                       "lib/cppd/plugins/fastpoetry.so", "libexec/cppd/cppd-plugin-note"):
            self.assertTrue(os.path.exists(os.path.join(prefix, wanted)), wanted)

        configure = [CMAKE, "-S", os.path.join(SOURCE_DIR, "tests", "out_of_tree"), "-B", build,
                     f"-DCMAKE_PREFIX_PATH={prefix}", f"-DCMAKE_INSTALL_PREFIX={prefix}", "-DCMAKE_BUILD_TYPE=Debug"]
        if compiler:
            configure.append(f"-DCMAKE_CXX_COMPILER={compiler}")
        if GENERATOR:
            configure.append(f"-G{GENERATOR}")
        self.run_step(*configure)
        self.run_step(CMAKE, "--build", build)
        self.assertTrue(os.path.exists(os.path.join(build, "greeter.so")))
        # cppd_add_plugin gives a plugin no RUNPATH, so none of the author's build searches the current directory.
        self.assertEqual(runpath_test.unsafe_search_paths(build), [])
        # A protocol test built against the installed SDK with its test double (cppd/testing/string_transport.hpp).
        # In the sanitizer build the installed libcppd carries ASan, which a test program built without it loads
        # second: let ASan start there (cppd itself is built with it, so plugins are not concerned).
        asan = os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0:detect_leaks=0"
        env = dict(os.environ, ASAN_OPTIONS=asan)
        self.assertIn("greeting protocol: ok",
                      self.run_step(os.path.join(build, "greeting_protocol_test"), env=env).stdout)
        return prefix, build

    def run_greeter(self, cppd, env):
        log = self.path("greeter.log")
        server = subprocess.Popen([cppd, "-n", "--pidfile=", "--logfile", log, "greeter", "--who", "plugin authors"],
                                  env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            wait_for_log(log, r"greetings, plugin authors")
            server.send_signal(signal.SIGTERM)
            self.assertEqual(server.wait(timeout=20), 0)
        finally:
            if server.poll() is None:
                server.kill()
                server.wait()

    def test_plugin_built_against_installed_prefix_runs(self):
        prefix, build = self.install_and_build()
        cppd = os.path.join(prefix, "bin", "cppd")
        env = dict(os.environ, CPPD_PLUGIN_PATH=build)
        listing = self.run_step(cppd, env=env).stdout
        self.assertIn("    greeter     Greets someone (built out of tree).\n", listing)
        self.assertIn("    fastpoetry  ", listing)
        where = self.run_step(cppd, "--list-plugins", env=env).stdout
        self.assertIn(f"greeter     {build}/greeter.so (CPPD_PLUGIN_PATH)", where)
        self.assertIn(f"fastpoetry  {prefix}/lib/cppd/plugins/fastpoetry.so (built-in)", where)
        self.run_greeter(cppd, env)

        # Installing the plugin puts it into the installed cppd's built-in plugin directory.
        self.run_step(CMAKE, "--install", build)
        env = dict(os.environ)
        env.pop("CPPD_PLUGIN_PATH", None)
        where = self.run_step(cppd, "--list-plugins", env=env).stdout
        self.assertIn(f"greeter     {prefix}/lib/cppd/plugins/greeter.so (built-in)", where)

    @unittest.skipUnless(shutil.which("clang++-14"), "clang++-14 is not installed (cmake/install-deps.sh --tests)")
    def test_plugin_built_with_clang_against_the_gxx_built_package_loads(self):
        prefix, build = self.install_and_build(compiler=shutil.which("clang++-14"))
        with open(os.path.join(build, "greeter.so"), "rb") as f:
            self.assertIn(b"clang version 14", f.read())  # the .comment section names the compiler
        cppd = os.path.join(prefix, "bin", "cppd")
        env = dict(os.environ, CPPD_PLUGIN_PATH=build)
        listing = self.run_step(cppd, "--list-plugins", "-v", env=env).stdout
        self.assertIn(f"greeter     {build}/greeter.so (CPPD_PLUGIN_PATH)", listing)
        self.run_greeter(cppd, env)


if __name__ == "__main__":
    unittest.main()
