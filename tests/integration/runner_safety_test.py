"""The runner against services and starts that would otherwise leave a server out of reach or too powerful: a
service that blocks the event loop (the forced exit must not need the loop), file servers started as root, and the
file descriptor budget raised at start."""
import ftplib
import http.client
import os
import resource
import shutil
import signal
import socket
import subprocess
import time
import unittest

from cppdtest import CPPD, DEFAULT_TIMEOUT, TempDirTestCase, read_text, run_cppd, wait_for, wait_for_log

TEST_PLUGIN_DIR = os.environ.get("CPPD_TEST_PLUGIN_DIR", "")
PLUGIN_DIR = os.environ.get("CPPD_PLUGIN_DIR", "")
LOOPBACK = "tcp:0:interface=127.0.0.1"
ROOT_WARNING = "running as root: no --uid was given"
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

    def test_a_shutdown_timeout_below_a_millisecond_is_still_a_timeout(self):
        # 0.0001 s once truncated to 0 ms, which means "wait for ever": a stuck loop then kept cppd running.
        proc = self.blocked("block-loop", "--shutdown-timeout", "0.0001")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.wait_exit(proc, FORCED_EXIT_DEADLINE), 70)
        self.assert_forced(proc, "the shutdown timeout of 0.001s expired")

    def test_a_second_sigterm_stops_a_server_blocked_writing_its_log_to_a_pipe_nobody_reads(self):
        # cppd -n --logfile - under a log reader that stalls (a container's log driver): the loop blocks in
        # write(2) on the full pipe, and the forced exit must not block behind it writing its own line there.
        if not PLUGIN_DIR:
            self.skipTest("CPPD_PLUGIN_DIR is not set")
        root = self.path("root")
        os.makedirs(root)
        reader, writer = os.pipe()
        self.addCleanup(os.close, reader)
        proc = subprocess.Popen([CPPD, "-n", "--pidfile", self.pidfile, "--logfile", "-", "--allow-root",
                                 "--plugin-path", PLUGIN_DIR, "ftp", "--port", LOOPBACK, "--root", root],
                                cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=writer, stderr=subprocess.DEVNULL)
        os.close(writer)
        self.addCleanup(self.reap_quiet, proc)
        seen = b""
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while b"FtpFactory starting on " not in seen and time.monotonic() < deadline:
            seen += os.read(reader, 4096)
        port = int(seen.split(b"FtpFactory starting on ")[1].split()[0])
        # From here on nobody reads: each connection logs lines until the pipe is full and the loop blocks.
        for _ in range(5000):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as client:
                    client.recv(100)
            except OSError:
                break  # not answered within 1 s: the loop is blocked
        else:
            self.fail("the loop never blocked on the full pipe")
        wait_for(lambda: self.handles_sigterm(proc.pid), what="the SIGTERM handler")
        self.signal_twice(proc.pid, signal.SIGTERM)
        self.assertEqual(self.wait_exit(proc, FORCED_EXIT_DEADLINE), 70)
        self.assertFalse(os.path.exists(self.pidfile), "the forced exit left the pidfile behind")

    @staticmethod
    def reap_quiet(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()

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


@unittest.skipUnless(os.geteuid() == 0, "running as root needs root (CI runs as root)")
class RootTest(SafetyTestCase):
    def setUp(self):
        super().setUp()
        for plugin in ("ftp", "web"):
            if not os.path.exists(os.path.join(PLUGIN_DIR, f"{plugin}.so")):
                self.skipTest(f"the {plugin} plugin is not built")
        self.root = self.path("root")
        os.makedirs(self.root)
        os.chmod(self.root, 0o755)
        with open(os.path.join(self.root, "secret.txt"), "w") as f:
            f.write("root only\n")
        os.chmod(os.path.join(self.root, "secret.txt"), 0o600)

    def web(self):
        return ["web", "--port", LOOPBACK, "--path", self.root]

    def get(self, path):
        port = int(wait_for_log(self.logfile, r"starting on (\d+)").group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=DEFAULT_TIMEOUT)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def assert_refused(self, result, *names):
        self.assertEqual(result.returncode, 77, result.stderr)
        for text in (*names, "as root", "-u USER", "--allow-root"):
            self.assertIn(text, result.stderr)
        self.assertFalse(os.path.exists(self.pidfile))
        self.assertNotIn("starting on", result.stdout + result.stderr + read_text(self.logfile))

    def test_ftp_and_web_as_root_without_uid_are_refused_before_anything_binds(self):
        for args in (["ftp", "--port", LOOPBACK, "--root", self.root], self.web()):
            with self.subTest(plugin=args[0]):
                result = run_cppd(["-n", "--pidfile", self.pidfile, "--logfile", "-", *args], cwd=self.tmp)
                self.assert_refused(result, f"refusing to run {args[0]} as root")

    def test_a_deployment_file_names_the_service_that_would_serve_files_as_root(self):
        config = self.path("site.toml")
        with open(config, "w") as f:
            f.write(f'[cppd]\nnodaemon = true\n\n[[service]]\nplugin = "web"\nname = "site"\n'
                    f'port = "{LOOPBACK}"\npath = "{self.root}"\n')
        result = run_cppd(["--pidfile", self.pidfile, "--logfile", self.logfile, "-y", config], cwd=self.tmp)
        self.assert_refused(result, "web (service 'site')")

    def test_allow_root_in_a_deployment_file_lets_web_run_as_root_with_a_warning(self):
        config = self.path("site.toml")
        with open(config, "w") as f:
            f.write(f'[cppd]\nnodaemon = true\nallow-root = true\n\n[[service]]\nplugin = "web"\n'
                    f'port = "{LOOPBACK}"\npath = "{self.root}"\n')
        proc = subprocess.Popen([CPPD, "--pidfile", self.pidfile, "--logfile", self.logfile, "-y", config],
                                cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.reap, proc)
        self.assertEqual(self.get("/secret.txt"), (200, b"root only\n"))  # what the operator asked for
        self.assertIn(ROOT_WARNING, read_text(self.logfile))
        proc.terminate()
        self.assertEqual(self.wait_exit(proc, DEFAULT_TIMEOUT), 0)

    def test_allow_root_lets_ftp_run_as_root_with_a_warning(self):
        proc = self.start(["--allow-root", "ftp", "--port", LOOPBACK, "--root", self.root])
        wait_for_log(self.logfile, "starting on")
        self.assertIn(ROOT_WARNING, read_text(self.logfile))
        proc.terminate()
        self.assertEqual(self.wait_exit(proc, DEFAULT_TIMEOUT), 0)

    def test_web_with_uid_nobody_cannot_serve_a_root_only_file_and_does_not_warn(self):
        proc = self.start(["-u", "nobody", *self.web()])
        status, body = self.get("/secret.txt")
        self.assertNotEqual(status, 200)
        self.assertNotIn(b"root only", body)
        self.assertNotIn("running as root", read_text(self.logfile))
        proc.terminate()
        self.wait_exit(proc, DEFAULT_TIMEOUT)

    def test_a_plugin_that_serves_no_files_runs_as_root_with_a_warning(self):
        proc = self.start(self.stuck_args("clean"))
        wait_for_log(self.logfile, "StuckService started")
        self.assertIn(ROOT_WARNING, read_text(self.logfile))
        proc.terminate()
        self.assertEqual(self.wait_exit(proc, DEFAULT_TIMEOUT), 0)


class ClientTextInLogTest(SafetyTestCase):
    def test_control_bytes_in_an_ftp_user_name_reach_the_log_escaped_on_one_line(self):
        if not os.path.exists(os.path.join(PLUGIN_DIR, "ftp.so")):
            self.skipTest("the ftp plugin is not built")
        root = self.path("root")
        os.makedirs(root)
        proc = self.start(["--allow-root", "ftp", "--port", LOOPBACK, "--root", root])
        port = int(wait_for_log(self.logfile, r"starting on (\d+)").group(1))
        client = ftplib.FTP()
        client.connect("127.0.0.1", port, timeout=DEFAULT_TIMEOUT)
        try:
            # ESC clears a terminal and moves its cursor home, BEL rings, DEL erases, U+009B is the 8-bit CSI; the
            # CR LF that ends the command cannot be part of the name (ftplib refuses it), a bare LF ends it too.
            client.sendcmd("USER evil\x1b[2J\x1b[H\x07\x7fname\x9b31m")
            with self.assertRaises(ftplib.error_perm):
                client.sendcmd("PASS guess")
            client.sock.sendall(b"USER one\x1b]0;title\x07\nPASS two\r\n")
            client.getmultiline()
            with self.assertRaises(ftplib.error_perm):
                client.getresp()
        finally:
            client.close()
        wait_for_log(self.logfile, r"failed login for user 'one")
        with open(self.logfile, "rb") as f:
            raw = f.read()
        self.assertEqual([b for b in raw if (b < 0x20 and b != 0x0a) or b == 0x7f], [], raw)
        log = raw.decode()
        self.assertIn("failed login for user 'evil\\x1b[2J\\x1b[H\\x07\\x7fname\\xc2\\x9b31m'\n", log)
        self.assertIn("failed login for user 'one\\x1b]0;title\\x07'\n", log)
        proc.terminate()
        self.assertEqual(self.wait_exit(proc, DEFAULT_TIMEOUT), 0)


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
