"""Files the runner reads or takes as its own, on the real binary: the pidfile and the log file are refused
(exit 73, nothing touched) unless they are regular files with one link owned by cppd's user; configuration
files are read only when they are regular files under a size limit; an empty command is a usage error."""
import os
import pwd
import stat
import subprocess
import unittest

from cppdtest import TempDirTestCase, run_cppd

SECRET = "TOPSECRET-do-not-leak\n"
LOOPBACK = "interface=127.0.0.1"


class OwnFileTestCase(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.poem = self.write("poem.txt", "a poem\n")
        self.secret = self.write("secret", SECRET)
        os.chmod(self.secret, 0o600)

    def cppd(self, pidfile=None, logfile=None):
        args = ["-n", "--pidfile", pidfile or self.path("cppd.pid"), "--logfile", logfile or self.path("cppd.log"),
                "fastpoetry", "--port", "tcp:0:" + LOOPBACK, "--poem", self.poem]
        try:
            return run_cppd(args, cwd=self.tmp, timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("cppd accepted the file and started serving (or hung opening it)")

    def assert_refused(self, result, what, path, reason):
        self.assertEqual(result.returncode, 73, result.stderr)
        self.assertIn(f"refuse {what} {path}: {reason}", result.stderr)
        self.assertNotIn("TOPSECRET", result.stderr + result.stdout)

    def assert_secret_untouched(self):
        st = os.stat(self.secret)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        with open(self.secret) as f:
            self.assertEqual(f.read(), SECRET)

    def device(self):
        """A private twin of /dev/null (same major/minor), so a failing run cannot chmod the real one."""
        path = self.path("null")
        try:
            os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            self.skipTest("cannot create a device node here (not root)")
        os.chmod(path, 0o666)
        return path


class PidfileTests(OwnFileTestCase):
    def test_a_character_device_is_refused_and_keeps_its_mode(self):
        null = self.device()
        self.assert_refused(self.cppd(pidfile=null), "pidfile", null, "it is a character device, not a regular file")
        self.assertEqual(stat.S_IMODE(os.stat(null).st_mode), 0o666)
        self.assert_refused(self.cppd(pidfile="/dev/null"), "pidfile", "/dev/null",
                            "it is a character device, not a regular file")

    def test_a_hard_link_to_a_secret_is_refused_and_the_secret_is_untouched(self):
        link = self.path("cppd.pid")
        os.link(self.secret, link)
        self.assert_refused(self.cppd(pidfile=link), "pidfile", link,
                            "it has 2 hard links (it may be another file linked in)")
        self.assert_secret_untouched()

    def test_a_fifo_is_refused_without_hanging(self):
        fifo = self.path("cppd.pid")
        os.mkfifo(fifo)
        self.assert_refused(self.cppd(pidfile=fifo), "pidfile", fifo, "it is a FIFO, not a regular file")

    def test_a_symlink_is_refused(self):
        link = self.path("cppd.pid")
        os.symlink(self.secret, link)
        self.assert_refused(self.cppd(pidfile=link), "pidfile", link, "it is a symbolic link, not a regular file")
        self.assert_secret_untouched()

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a file to another user")
    def test_a_file_owned_by_another_user_is_refused(self):
        pidfile = self.write("cppd.pid", "")
        nobody = pwd.getpwnam("nobody").pw_uid
        os.chown(pidfile, nobody, -1)
        self.assert_refused(self.cppd(pidfile=pidfile), "pidfile", pidfile,
                            f"it is owned by uid {nobody}, not by uid {os.geteuid()}")


class LogFileTests(OwnFileTestCase):
    def test_a_hard_link_to_a_secret_is_refused_and_the_secret_is_untouched(self):
        link = self.path("cppd.log")
        os.link(self.secret, link)
        self.assert_refused(self.cppd(logfile=link), "log file", link,
                            "it has 2 hard links (it may be another file linked in)")
        self.assert_secret_untouched()

    def test_a_fifo_is_refused_without_hanging(self):
        fifo = self.path("cppd.log")
        os.mkfifo(fifo)
        self.assert_refused(self.cppd(logfile=fifo), "log file", fifo, "it is a FIFO, not a regular file")

    def test_a_symlink_is_refused(self):
        link = self.path("cppd.log")
        os.symlink(self.secret, link)
        self.assert_refused(self.cppd(logfile=link), "log file", link, "it is a symbolic link, not a regular file")
        self.assert_secret_untouched()

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a file to another user")
    def test_a_file_owned_by_another_user_is_refused(self):
        logfile = self.write("cppd.log", "")
        nobody = pwd.getpwnam("nobody").pw_uid
        os.chown(logfile, nobody, -1)
        self.assert_refused(self.cppd(logfile=logfile), "log file", logfile,
                            f"it is owned by uid {nobody}, not by uid {os.geteuid()}")


class ConfigurationFileTests(TempDirTestCase):
    def cppd(self, *args):
        try:
            return run_cppd(list(args), cwd=self.tmp, timeout=20)
        except subprocess.TimeoutExpired:
            self.fail("cppd kept reading (or hung opening the file)")

    def test_a_device_as_deployment_file_is_refused_without_reading_it(self):
        result = self.cppd("-y", "/dev/zero")
        self.assertEqual(result.returncode, 66, result.stderr)
        self.assertEqual(result.stderr, "cppd: read deployment file /dev/zero: it is a character device, not a "
                                        "regular file; give the path of a file\n")

    def test_a_fifo_as_deployment_file_is_refused_without_hanging(self):
        fifo = self.path("cppd.toml")
        os.mkfifo(fifo)
        result = self.cppd("-y", fifo)
        self.assertEqual(result.returncode, 66, result.stderr)
        self.assertIn("it is a FIFO, not a regular file", result.stderr)

    def test_a_deployment_file_over_the_limit_is_refused_naming_the_limit(self):
        big = self.write("big.toml", "# padding\n" * 110000)
        result = self.cppd("-y", big)
        self.assertEqual(result.returncode, 78, result.stderr)
        self.assertEqual(result.stderr, f"cppd: read deployment file {big}: it is larger than the limit of 1048576 "
                                        f"bytes (1 MiB) for a deployment file\n")

    def test_an_empty_command_is_a_usage_error(self):
        result = self.cppd("")
        self.assertEqual(result.returncode, 64, result.stderr)
        self.assertTrue(result.stderr.startswith("cppd: the command (plugin name) is empty; 'cppd --help' lists the "
                                                 "commands\n"), result.stderr)


if __name__ == "__main__":
    unittest.main()
