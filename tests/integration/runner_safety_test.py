"""The runner against services and starts that would otherwise leave a server out of reach: a service that blocks
the event loop (the forced exit must not need the loop), and the file descriptor budget raised at start."""
import os
import resource
import shutil
import signal
import subprocess
import time
import unittest

from cppdtest import CPPD, DEFAULT_TIMEOUT, TempDirTestCase, read_text, wait_for, wait_for_log

TEST_PLUGIN_DIR = os.environ.get("CPPD_TEST_PLUGIN_DIR", "")
# The backstop gives the loop 2 s to finish the exit by itself; a forced exit must come well within this.
FORCED_EXIT_DEADLINE = 10.0


class SafetyTestCase(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.pidfile = self.path("cppd.pid")
        self.logfile = self.path("cppd.log")

    def stuck_args(self, mode):
        if not TEST_PLUGIN_DIR or not os.path.exists(os.path.join(TEST_PLUGIN_DIR, "stuck.so")):
            self.skipTest("the stuck test plugin is not built (target test_plugin_stuck)")
        plugins = self.path("plugins")
        os.makedirs(plugins, exist_ok=True)
        shutil.copy(os.path.join(TEST_PLUGIN_DIR, "stuck.so"), plugins)
        return ["--plugin-path", plugins, "stuck", "--mode", mode]

    def start(self, args, preexec_fn=None):
        """cppd -n with a pidfile and a log file; killed by PID when the test ends."""
        proc = subprocess.Popen([CPPD, "-n", "--pidfile", self.pidfile, "--logfile", self.logfile, *args],
                                cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, preexec_fn=preexec_fn)
        self.addCleanup(self.reap, proc)
        return proc

    @staticmethod
    def reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()

    def wait_exit(self, proc, deadline):
        try:
            return proc.wait(deadline)
        except subprocess.TimeoutExpired:
            self.fail(f"cppd (PID {proc.pid}) did not exit within {deadline}s; log:\n{read_text(self.logfile)}")

    def signal_twice(self, pid, signum):
        """Sends signum twice, the second once the first was delivered (pending signals of one kind merge)."""
        os.kill(pid, signum)
        wait_for(lambda: not self.pending(pid) & (1 << (signum - 1)), what=f"signal {signum} to be delivered")
        os.kill(pid, signum)

    @staticmethod
    def pending(pid):
        masks = [int(line.split()[1], 16) for line in read_text(f"/proc/{pid}/status").splitlines()
                 if line.startswith(("SigPnd:", "ShdPnd:"))]
        return masks[0] | masks[1]

    def handles_sigterm(self, pid):
        for line in read_text(f"/proc/{pid}/status").splitlines():
            if line.startswith("SigCgt:"):
                return int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1))
        return False


class BlockedLoopTest(SafetyTestCase):
    def blocked(self, mode, *runner_args):
        proc = self.start([*runner_args, *self.stuck_args(mode)])
        wait_for_log(self.logfile, "StuckService blocking")
        wait_for(lambda: self.handles_sigterm(proc.pid), what="the SIGTERM handler")
        return proc

    def assert_forced(self, proc, why):
        log = read_text(self.logfile)
        forced = [line for line in log.splitlines() if "Shutdown forced" in line]
        self.assertEqual(len(forced), 1, log)
        self.assertIn(f"Shutdown forced ({why}) from outside the event loop", forced[0])
        self.assertRegex(forced[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[-\] ")
        self.assertFalse(os.path.exists(self.pidfile), "the forced exit left the pidfile behind")

    def test_a_second_sigterm_stops_a_server_whose_loop_is_blocked(self):
        proc = self.blocked("block-loop", "--shutdown-timeout", "0")
        proc.send_signal(signal.SIGTERM)
        # Nothing happens on the blocked loop; the first signal alone, with no timeout, must not end the process.
        self.assertRaises(subprocess.TimeoutExpired, proc.wait, 3)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(proc, FORCED_EXIT_DEADLINE), 70)
        self.assertLess(time.monotonic() - started, FORCED_EXIT_DEADLINE)
        self.assert_forced(proc, "second SIGTERM")

    def test_the_shutdown_timeout_stops_a_server_whose_loop_is_blocked(self):
        proc = self.blocked("block-loop", "--shutdown-timeout", "1")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(proc, FORCED_EXIT_DEADLINE), 70)
        self.assert_forced(proc, "the shutdown timeout of 1s expired")

    def test_a_second_sigint_stops_a_server_blocked_in_its_start(self):
        proc = self.blocked("block-start")
        self.signal_twice(proc.pid, signal.SIGINT)
        self.assertEqual(self.wait_exit(proc, FORCED_EXIT_DEADLINE), 70)
        self.assert_forced(proc, "second SIGINT")

    def test_a_daemon_blocked_in_its_start_is_forced_and_the_launcher_says_so(self):
        args = ["--pidfile", self.pidfile, "--logfile", self.logfile, *self.stuck_args("block-start")]
        launcher = subprocess.Popen([CPPD, *args], cwd=self.tmp, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.reap, launcher)
        wait_for_log(self.logfile, "StuckService blocking")
        pid = int(read_text(self.pidfile))
        wait_for(lambda: self.handles_sigterm(pid), what="the SIGTERM handler")
        self.signal_twice(pid, signal.SIGTERM)
        self.assertEqual(self.wait_exit(launcher, FORCED_EXIT_DEADLINE), 70)
        self.assertIn("exited with status 70 before reporting its startup", launcher.stderr.read())
        self.assert_forced(launcher, "second SIGTERM")


class DescriptorLimitTest(SafetyTestCase):
    def test_the_soft_descriptor_limit_is_raised_to_the_hard_limit_and_logged(self):
        hard = min(4096, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        if hard <= 256:
            self.skipTest(f"the hard RLIMIT_NOFILE here ({hard}) leaves nothing to raise")
        proc = self.start(self.stuck_args("clean"),
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)))
        wait_for_log(self.logfile, "StuckService started")
        self.assertIn(f"file descriptor limit: {hard}\n", read_text(self.logfile))
        limits = read_text(f"/proc/{proc.pid}/limits")
        line = next(l for l in limits.splitlines() if l.startswith("Max open files"))
        self.assertEqual(line.split()[3:5], [str(hard), str(hard)], line)
        proc.terminate()
        self.assertEqual(self.wait_exit(proc, DEFAULT_TIMEOUT), 0)


if __name__ == "__main__":
    unittest.main()
