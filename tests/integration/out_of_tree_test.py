"""Packaging for plugin authors: install cppd into a temporary prefix, build a plugin out of tree with
find_package(cppd) + cppd_add_plugin(), and run it through CPPD_PLUGIN_PATH and from the installed plugin dir."""
import os
import signal
import subprocess
import unittest

from cppdtest import BUILD_DIR, SOURCE_DIR, TempDirTestCase, wait_for_log

CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")
GENERATOR = os.environ.get("CPPD_CMAKE_GENERATOR", "")
STEP_TIMEOUT = 240


class OutOfTreePluginTests(TempDirTestCase):
    def run_step(self, *args, env=None):
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=STEP_TIMEOUT, env=env)
        self.assertEqual(result.returncode, 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def test_plugin_built_against_installed_prefix_runs(self):
        prefix = self.path("prefix")
        build = self.path("build")
        self.run_step(CMAKE, "--install", BUILD_DIR, "--prefix", prefix)
        for wanted in ("bin/cppd", "lib/cmake/cppd/cppdConfig.cmake", "lib/cmake/cppd/cppdConfigVersion.cmake",
                       "lib/cmake/cppd/CppdPlugin.cmake", "include/cppd/plugin.hpp", "include/cppd/version.hpp",
                       "include/cppd/testing/string_transport.hpp",
                       "lib/cppd/plugins/fastpoetry.so"):
            self.assertTrue(os.path.exists(os.path.join(prefix, wanted)), wanted)

        configure = [CMAKE, "-S", os.path.join(SOURCE_DIR, "tests", "out_of_tree"), "-B", build,
                     f"-DCMAKE_PREFIX_PATH={prefix}", f"-DCMAKE_INSTALL_PREFIX={prefix}", "-DCMAKE_BUILD_TYPE=Debug"]
        if GENERATOR:
            configure.append(f"-G{GENERATOR}")
        self.run_step(*configure)
        self.run_step(CMAKE, "--build", build)
        self.assertTrue(os.path.exists(os.path.join(build, "greeter.so")))
        # A protocol test built against the installed SDK with its test double (cppd/testing/string_transport.hpp).
        self.assertIn("greeting protocol: ok", self.run_step(os.path.join(build, "greeting_protocol_test")).stdout)

        cppd = os.path.join(prefix, "bin", "cppd")
        env = dict(os.environ, CPPD_PLUGIN_PATH=build, CPPD_PLUGIN_CACHE="")
        listing = self.run_step(cppd, env=env).stdout
        self.assertIn("    greeter     Greets someone (built out of tree).\n", listing)
        self.assertIn("    fastpoetry  ", listing)
        where = self.run_step(cppd, "--list-plugins", env=env).stdout
        self.assertIn(f"greeter     {build}/greeter.so (CPPD_PLUGIN_PATH)", where)
        self.assertIn(f"fastpoetry  {prefix}/lib/cppd/plugins/fastpoetry.so (built-in)", where)

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

        # Installing the plugin puts it into the installed cppd's built-in plugin directory.
        self.run_step(CMAKE, "--install", build)
        env = dict(os.environ, CPPD_PLUGIN_CACHE="")
        env.pop("CPPD_PLUGIN_PATH", None)
        where = self.run_step(cppd, "--list-plugins", env=env).stdout
        self.assertIn(f"greeter     {prefix}/lib/cppd/plugins/greeter.so (built-in)", where)


if __name__ == "__main__":
    unittest.main()
