"""The runner on the real binary: daemon and foreground modes, the pidfile, start-up failures reaching the
launching shell, log rotation and reopening, the privilege drop, and shutdown (issue 4)."""
import os
import platform
import shutil
import signal
import socket
import stat
import subprocess
import sys
import unittest

from cppdtest import (CPPD, DEFAULT_TIMEOUT, TempDirTestCase, fetch, process_exists, read_text, run_cppd,
                      wait_for, wait_for_log)

TEST_PLUGIN_DIR = os.environ.get("CPPD_TEST_PLUGIN_DIR", "")
POEM = "I wandered lonely as a cloud\nThat floats on high o'er vales and hills,\n" * 4
IS_ROOT = os.geteuid() == 0
LOOPBACK = "interface=127.0.0.1"


# Locks the pidfile named by argv[1], writes its PID there, then ends its main thread only (SYS_exit, number
# argv[2]): a zombie whose other thread holds the lock until a line comes on stdin, as a server killed a moment ago.
DYING_HOLDER = r"""
import ctypes, fcntl, os, sys, threading
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, f"{os.getpid()}\n".encode())
def linger():
    sys.stdin.readline()
    os._exit(0)
threading.Thread(target=linger).start()
print("locked", flush=True)
ctypes.CDLL(None).syscall(int(sys.argv[2]), 0)
"""


def free_low_port():
    """A port below 1024 that nothing on 127.0.0.1 uses right now (root only)."""
    for port in range(1000, 600, -1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise unittest.SkipTest("no free port below 1024 on 127.0.0.1")


def handles_signals(pid, *signums):
    """True once the process has a handler for every signal (SigCgt in /proc/PID/status)."""
    for line in read_text(f"/proc/{pid}/status").splitlines():
        if line.startswith("SigCgt:"):
            caught = int(line.split()[1], 16)
            return all(caught & (1 << (s - 1)) for s in signums)
    return False


class RunnerTestCase(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.poem = self.write("poem.txt", POEM)
        self.pidfile = self.path("cppd.pid")
        self.logfile = self.path("cppd.log")
        self.daemons = []

    def tearDown(self):
        for pid in self.daemons:
            if process_exists(pid):
                os.kill(pid, signal.SIGKILL)
        super().tearDown()

    def poetry_args(self, port="tcp:0:" + LOOPBACK):
        return ["fastpoetry", "--port", port, "--poem", self.poem]

    def stuck_args(self, mode):
        # tests/CMakeLists.txt always builds it: missing is a broken build, not a reason to skip.
        self.assertTrue(TEST_PLUGIN_DIR and os.path.exists(os.path.join(TEST_PLUGIN_DIR, "stuck.so")),
                        "the stuck test plugin is not built (target test_plugin_stuck, in CPPD_TEST_PLUGIN_DIR)")
        plugins = self.path("plugins")
        os.makedirs(plugins, exist_ok=True)
        shutil.copy(os.path.join(TEST_PLUGIN_DIR, "stuck.so"), plugins)
        return ["--plugin-path", plugins], ["stuck", "--mode", mode]

    def start_daemon(self, args, runner_args=(), expect=0, **kwargs):
        """Runs the launcher to completion; on success remembers the daemon's PID for cleanup."""
        result = run_cppd(["--pidfile", self.pidfile, "--logfile", self.logfile, *runner_args, *args],
                          cwd=self.tmp, **kwargs)
        if expect is not None:
            self.assertEqual(result.returncode, expect, f"stdout: {result.stdout}\nstderr: {result.stderr}\n"
                                                        f"log:\n{read_text(self.logfile)}")
        if result.returncode == 0:
            pid = int(read_text(self.pidfile))
            self.daemons.append(pid)
        return result

    def daemon_pid(self):
        return int(read_text(self.pidfile))

    def wait_gone(self, pid):
        wait_for(lambda: not process_exists(pid), what=f"PID {pid} to exit")

    def port_from_log(self):
        return int(wait_for_log(self.logfile, r"starting on (\d+)").group(1))


class DaemonModeTest(RunnerTestCase):
    def test_daemon_starts_serves_and_stops_on_sigterm(self):
        extra_r, extra_w = os.pipe()  # an inherited descriptor that must not leak into the daemon
        try:
            result = subprocess.run([CPPD, "--pidfile", self.pidfile, "--logfile", self.logfile,
                                     *self.poetry_args()], cwd=self.tmp, capture_output=True, text=True,
                                    timeout=DEFAULT_TIMEOUT, pass_fds=(extra_w,))
        finally:
            os.close(extra_r)
            os.close(extra_w)
        self.assertEqual(result.returncode, 0, result.stderr)
        content = read_text(self.pidfile)
        self.assertRegex(content, r"^\d+\n$")
        pid = int(content)
        self.daemons.append(pid)
        self.assertTrue(process_exists(pid))
        self.assertEqual(stat.S_IMODE(os.stat(self.pidfile).st_mode), 0o644)
        port = self.port_from_log()
        self.assertEqual(fetch("127.0.0.1", port), POEM.encode())
        log = read_text(self.logfile)
        self.assertRegex(log, r"cppd \S+ starting up\.")
        self.assertIn("reactor class: ", log)
        self.assertIn("plugin: fastpoetry", log)
        # Double fork: a new session (setsid in the first child), which the daemon does not lead, so it can never
        # acquire a controlling terminal.
        self.assertNotEqual(os.getsid(pid), os.getsid(0))
        self.assertNotEqual(os.getsid(pid), pid)
        # `kill $(cat cppd.pid)`
        subprocess.run(["sh", "-c", f"kill $(cat {self.pidfile})"], check=True, timeout=DEFAULT_TIMEOUT)
        self.wait_gone(pid)
        log = read_text(self.logfile)
        for line in ("Received SIGTERM, shutting down.", "Main loop terminated.", "Server Shut Down."):
            self.assertIn(line, log)
        # twistd's order: the signal, the port closed, the factory stopped, the loop ended, the server down.
        order = ("Received SIGTERM", "(TCP Port ", "Stopping factory", "Main loop terminated.", "Server Shut Down.")
        positions = [log.index(line) for line in order]
        self.assertEqual(positions, sorted(positions), f"shutdown lines out of twistd's order: {log[-800:]}")
        self.assertFalse(os.path.exists(self.pidfile))

    def test_the_daemon_has_no_inherited_descriptor(self):
        r, w = os.pipe()
        try:
            result = subprocess.run([CPPD, "--pidfile", self.pidfile, "--logfile", self.logfile,
                                     *self.poetry_args()], cwd=self.tmp, capture_output=True, text=True,
                                    timeout=DEFAULT_TIMEOUT, pass_fds=(w,))
            self.assertEqual(result.returncode, 0, result.stderr)
            pid = self.daemon_pid()
            self.daemons.append(pid)
            self.assertFalse(os.path.exists(f"/proc/{pid}/fd/{w}") and
                             os.readlink(f"/proc/{pid}/fd/{w}") == os.readlink(f"/proc/self/fd/{w}"),
                             "the daemon kept an inherited descriptor")
            for fd in (0, 1, 2):
                self.assertEqual(os.readlink(f"/proc/{pid}/fd/{fd}"), "/dev/null")
        finally:
            os.close(r)
            os.close(w)

    def test_default_umask_is_0077_when_daemonizing(self):
        self.start_daemon(self.poetry_args())
        with open(f"/proc/{self.daemon_pid()}/status") as f:
            self.assertIn("Umask:\t0077", f.read())

    def test_second_start_is_refused_with_75(self):
        self.start_daemon(self.poetry_args())
        pid = self.daemon_pid()
        second = self.start_daemon(self.poetry_args(), expect=75)
        self.assertIn(f"Another cppd server is running, PID {pid} (pidfile {self.pidfile})", second.stderr)
        self.assertEqual(self.daemon_pid(), pid)

    def test_a_start_waits_for_a_holder_that_is_exiting(self):
        # kill -9 and a restart at once: the killed server's main thread is gone (a zombie) while its other threads
        # exit, and they still hold the pidfile's lock. Played by a holder whose main thread exits (SYS_exit) and
        # whose other thread lets go when told, once cppd is seen waiting (asleep in clock_nanosleep).
        numbers = {"x86_64": (60, 230), "aarch64": (93, 115)}.get(platform.machine())
        if numbers is None:
            self.skipTest(f"the system call numbers for {platform.machine()} are not known here")
        sys_exit, sys_clock_nanosleep = numbers
        holder = subprocess.Popen([sys.executable, "-c", DYING_HOLDER, self.pidfile, str(sys_exit)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (holder.poll() is None and holder.kill(), holder.wait(), holder.stdin.close(),
                                 holder.stdout.close()))
        self.assertEqual(holder.stdout.readline(), "locked\n")
        wait_for(lambda: read_text(f"/proc/{holder.pid}/stat").rsplit(") ", 1)[1][0] == "Z",
                 what="the holder's main thread to exit")
        server = subprocess.Popen([CPPD, "--nodaemon", "--pidfile", self.pidfile, "--logfile", self.logfile,
                                   *self.poetry_args()], cwd=self.tmp, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: (server.poll() is None and server.kill(), server.communicate()))

        def waiting():
            if server.poll() is not None:
                raise AssertionError(f"cppd exited with {server.returncode}: {server.communicate()[1]}")
            return read_text(f"/proc/{server.pid}/syscall").split(" ")[0] == str(sys_clock_nanosleep)
        wait_for(waiting, what="cppd to wait for the pidfile's lock")
        self.assertEqual(int(read_text(self.pidfile)), holder.pid)
        holder.stdin.write("go\n")  # its last thread exits, and the lock goes with it
        holder.stdin.flush()
        wait_for_log(self.logfile, "starting on")
        self.assertIn(f"Removing stale pidfile {self.pidfile} (PID {holder.pid} no longer holds its lock)",
                      read_text(self.logfile))
        self.assertEqual(int(read_text(self.pidfile)), server.pid)
        server.send_signal(signal.SIGTERM)
        self.assertEqual(server.wait(DEFAULT_TIMEOUT), 0)

    def test_two_simultaneous_starts_leave_exactly_one_server(self):
        args = [CPPD, "--pidfile", self.pidfile, "--logfile", self.logfile, *self.poetry_args()]
        procs = [subprocess.Popen(args, cwd=self.tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        results = []
        for p in procs:
            out, err = p.communicate(timeout=DEFAULT_TIMEOUT)
            results.append((p.returncode, err))
        pid = self.daemon_pid()
        self.daemons.append(pid)
        self.assertEqual(sorted(code for code, _ in results), [0, 75], results)
        self.assertTrue(process_exists(pid))
        wait_for_log(self.logfile, "starting on")
        self.assertEqual(read_text(self.logfile).count(" starting on "), 1)

    def test_stale_pidfile_is_replaced(self):
        self.write("cppd.pid", "1\n")  # a live PID, but nobody holds the lock
        self.start_daemon(self.poetry_args())
        self.assertNotEqual(self.daemon_pid(), 1)
        wait_for_log(self.logfile, rf"Removing stale pidfile {self.pidfile}")

    def test_garbage_pidfile_is_stale_with_a_message(self):
        self.write("cppd.pid", "not a pid")
        self.start_daemon(self.poetry_args())
        wait_for_log(self.logfile, r"contains non-numeric value 'not a pid'; treating it as stale")

    def test_startup_failure_in_start_service_reaches_the_launcher(self):
        runner_args, args = self.stuck_args("fail-start")
        result = self.start_daemon(args, runner_args, expect=78)
        self.assertIn("cppd: startup failed: ", result.stderr)
        self.assertIn("start refused on purpose", result.stderr)
        self.assertFalse(os.path.exists(self.pidfile))
        self.assertIn("startup failed", read_text(self.logfile))

    def test_a_daemon_that_dies_silently_is_reported_not_waited_for(self):
        runner_args, args = self.stuck_args("abort")
        result = self.start_daemon(args, runner_args, expect=None)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("cppd: startup failed: the daemon (PID", result.stderr)
        self.assertIn("killed by signal 6", result.stderr)

    def test_port_in_use_reaches_the_launcher(self):
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            result = self.start_daemon(self.poetry_args(f"tcp:{port}:{LOOPBACK}"), expect=None)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("cppd: startup failed: ", result.stderr)
        self.assertIn(str(port), result.stderr)
        self.assertIn("in use", result.stderr.lower())
        self.assertFalse(os.path.exists(self.pidfile))

    def test_missing_poem_is_reported(self):
        self.poem = self.path("no-such-poem.txt")
        result = self.start_daemon(self.poetry_args(), expect=None)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("no-such-poem.txt", result.stderr)
        self.assertFalse(os.path.exists(self.pidfile))

    def test_unwritable_log_directory_is_reported(self):
        self.logfile = self.path("missing-dir", "cppd.log")
        result = self.start_daemon(self.poetry_args(), expect=73)
        self.assertIn(f"cppd: startup failed: open log file {self.logfile}", result.stderr)
        self.assertFalse(os.path.exists(self.pidfile))

    def test_unwritable_pidfile_directory_is_reported(self):
        self.pidfile = self.path("missing-dir", "cppd.pid")
        result = self.start_daemon(self.poetry_args(), expect=None)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("cppd: startup failed: ", result.stderr)
        self.assertIn(self.path("missing-dir"), result.stderr)

    def test_unknown_user_is_a_usage_error(self):
        result = self.start_daemon(self.poetry_args(), runner_args=["-u", "no-such-user-cppd"], expect=64)
        self.assertIn("no-such-user-cppd", result.stderr)


class OptionErrorsTest(RunnerTestCase):
    def test_unknown_option_exits_64(self):
        result = run_cppd(["--bogus"], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("unknown option '--bogus'", result.stderr)

    def test_daemons_cannot_log_to_stdout(self):
        result = run_cppd(["-l", "-", *self.poetry_args()], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("Daemons cannot log to stdout", result.stderr)

    def test_bad_umask_names_the_value(self):
        result = run_cppd(["--umask", "99", *self.poetry_args()], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("'99'", result.stderr)


class ForegroundTest(RunnerTestCase):
    def test_foreground_runs_and_stops_cleanly(self):
        server = self.start_server(self.poetry_args())
        port = server.listening_port()
        self.assertEqual(fetch("127.0.0.1", port), POEM.encode())
        self.assertEqual(server.stop(signal.SIGINT), 0)
        log = server.log()
        self.assertIn("Received SIGINT, shutting down.", log)
        self.assertIn("Server Shut Down.", log)

    def test_foreground_pidfile_holds_our_pid(self):
        proc = subprocess.Popen([CPPD, "-n", "--pidfile", self.pidfile, "--logfile", self.logfile,
                                 *self.poetry_args()], cwd=self.tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait_for_log(self.logfile, "starting on")
            self.assertEqual(read_text(self.pidfile), f"{proc.pid}\n")
            proc.terminate()
            self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)
            self.assertFalse(os.path.exists(self.pidfile))
        finally:
            proc.kill()
            proc.wait()

    def test_startup_failure_in_the_foreground_goes_to_stderr(self):
        runner_args, args = self.stuck_args("fail-privileged")
        result = run_cppd(["-n", "--pidfile", self.pidfile, "--logfile", self.logfile, *runner_args, *args],
                          cwd=self.tmp)
        self.assertEqual(result.returncode, 69)
        self.assertIn("cppd: startup failed: ", result.stderr)
        self.assertIn("privileged start refused on purpose", result.stderr)
        self.assertFalse(os.path.exists(self.pidfile))

    def test_usr1_and_hup_are_harmless_when_logging_to_stdout(self):
        out = self.path("stdout.txt")
        with open(out, "w") as stdout:
            proc = subprocess.Popen([CPPD, "-n", "-l", "-", "--pidfile=", *self.poetry_args()], cwd=self.tmp,
                                    stdout=stdout, stderr=subprocess.DEVNULL)
        try:
            wait_for_log(out, "starting on")
            proc.send_signal(signal.SIGUSR1)
            proc.send_signal(signal.SIGHUP)
            port = int(wait_for_log(out, r"starting on (\d+)").group(1))
            self.assertEqual(fetch("127.0.0.1", port), POEM.encode())
            self.assertIsNone(proc.poll())
            proc.terminate()
            self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)
        finally:
            proc.kill()
            proc.wait()

    def test_usr1_and_hup_are_harmless_with_syslog(self):
        proc = subprocess.Popen([CPPD, "-n", "--syslog", "--prefix", "cppd-test", "--pidfile", self.pidfile,
                                 *self.poetry_args()], cwd=self.tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: read_text(self.pidfile) == f"{proc.pid}\n", what="the pidfile")
            wait_for(lambda: handles_signals(proc.pid, signal.SIGTERM), what="the SIGTERM handler")
            for signum in (signal.SIGUSR1, signal.SIGHUP, signal.SIGUSR1):
                proc.send_signal(signum)
            self.assertIsNone(proc.poll())
            proc.terminate()
            self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)
            self.assertFalse(os.path.exists(self.logfile))
        finally:
            proc.kill()
            proc.wait()


    def test_a_server_launched_with_its_signals_blocked_still_stops_on_sigterm_and_reopens_on_sighup(self):
        # A launcher (a thread of some process manager) may pass on a mask that blocks them: the signal mask is
        # inherited across fork and exec. cppd must not then be deaf to kill and logrotate.
        blocked = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1, signal.SIGCHLD}
        server = self.start_server(self.poetry_args(), preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK,
                                                                                                   blocked))
        port = server.listening_port()
        os.rename(server.logfile, self.path("rotated.log"))
        server.signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(server.logfile), what="the log reopened at its path after SIGHUP")
        self.assertEqual(fetch("127.0.0.1", port), POEM.encode())
        wait_for_log(server.logfile, "sending")
        self.assertEqual(server.stop(), 0)


class ShutdownTest(RunnerTestCase):
    def start_stuck(self, timeout):
        runner_args, args = self.stuck_args("stuck")
        server = self.start_server([*runner_args, "--shutdown-timeout", str(timeout), *args])
        server.wait_for_log("StuckService started")
        return server

    def test_shutdown_timeout_forces_the_exit_naming_the_service(self):
        server = self.start_stuck(0.5)
        self.assertEqual(server.stop(signal.SIGTERM), 70)
        log = server.log()
        self.assertIn("Shutdown forced (the shutdown timeout of 0.5s expired); services not stopped: stuck/", log)
        self.assertIn("StuckService", log.split("services not stopped:")[1])
        self.assertIn("Server Shut Down.", log)

    def test_second_signal_forces_the_exit(self):
        server = self.start_stuck(60)
        server.signal(signal.SIGTERM)
        server.wait_for_log("StuckService stopping")
        self.assertEqual(server.stop(signal.SIGINT), 70)
        log = server.log()
        self.assertIn("Received SIGINT again while shutting down: forcing the exit.", log)
        self.assertIn("Shutdown forced (second SIGINT); services not stopped:", log)


class LogFileTest(RunnerTestCase):
    def fetch_until(self, port, predicate, what):
        def attempt():
            fetch("127.0.0.1", port)
            return predicate()
        return wait_for(attempt, what=what)

    def test_rotation_by_size(self):
        self.start_daemon(self.poetry_args(), runner_args=["--logfile-max-size", "1k", "--logfile-keep", "2"])
        port = self.port_from_log()
        self.fetch_until(port, lambda: os.path.exists(self.path("cppd.log.2")), "two rotations")
        self.assertFalse(os.path.exists(self.path("cppd.log.3")))
        self.assertTrue(os.path.exists(self.logfile))
        self.assertTrue(process_exists(self.daemon_pid()))

    def test_sigusr1_rotates(self):
        self.start_daemon(self.poetry_args())
        port = self.port_from_log()
        os.kill(self.daemon_pid(), signal.SIGUSR1)
        wait_for(lambda: os.path.exists(self.path("cppd.log.1")), what="cppd.log.1")
        self.assertIn("starting up", read_text(self.path("cppd.log.1")))
        self.fetch_until(port, lambda: "sending" in read_text(self.logfile), "a line in the new log")
        self.assertTrue(process_exists(self.daemon_pid()))

    def test_sighup_reopens_after_an_external_rename(self):
        self.start_daemon(self.poetry_args())
        port = self.port_from_log()
        os.rename(self.logfile, self.path("cppd.log.old"))
        os.kill(self.daemon_pid(), signal.SIGHUP)
        self.fetch_until(port, lambda: "sending" in read_text(self.logfile), "a line in the reopened log")
        self.assertIn("starting up", read_text(self.path("cppd.log.old")))
        self.assertFalse(os.path.exists(self.path("cppd.log.1")))

    def test_sigusr1_after_an_external_rename_reopens(self):
        self.start_daemon(self.poetry_args())
        port = self.port_from_log()
        os.rename(self.logfile, self.path("cppd.log.moved"))
        os.kill(self.daemon_pid(), signal.SIGUSR1)
        self.fetch_until(port, lambda: "sending" in read_text(self.logfile), "a line in the reopened log")
        self.assertFalse(os.path.exists(self.path("cppd.log.1")))

    def test_real_logrotate_with_postrotate_hup(self):
        logrotate = shutil.which("logrotate") or ("/usr/sbin/logrotate" if os.path.exists("/usr/sbin/logrotate")
                                                  else None)
        if not logrotate:
            self.skipTest("logrotate is not installed")
        self.start_daemon(self.poetry_args())
        port = self.port_from_log()
        conf = self.write("logrotate.conf",
                          f"{self.logfile} {{\n  rotate 3\n  missingok\n  nocompress\n  create 0644\n"
                          f"  postrotate\n    /bin/kill -HUP $(cat {self.pidfile})\n  endscript\n}}\n")
        result = subprocess.run([logrotate, "-f", "-s", self.path("logrotate.state"), conf],
                                capture_output=True, text=True, timeout=DEFAULT_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("starting up", read_text(self.path("cppd.log.1")))
        fetches = []

        def reopened():
            fetch("127.0.0.1", port)
            fetches.append(1)
            return "sending" in read_text(self.logfile)
        wait_for(reopened, what="a line in the log logrotate created")
        # Until the daemon handles the HUP its lines go to cppd.log.1: none is lost either way. A line leaves with
        # its loop iteration's batch, so the last fetch's may land just after the client has its poem.
        def sent():
            return read_text(self.logfile).count("sending") + read_text(self.path("cppd.log.1")).count("sending")
        wait_for(lambda: sent() >= len(fetches), what="a line for every fetch")
        self.assertEqual(sent(), len(fetches))
        self.assertTrue(process_exists(self.daemon_pid()))

    def test_dev_null_is_never_rotated(self):
        before = os.stat("/dev/null")
        proc = subprocess.Popen([CPPD, "-n", "--pidfile=", "-l", "/dev/null", "--logfile-max-size", "10",
                                 *self.poetry_args()], cwd=self.tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            # The handlers are installed after the log is open; signalling earlier would test the default action.
            wait_for(lambda: handles_signals(proc.pid, signal.SIGTERM, signal.SIGUSR1),
                     what="the log open and the signal handlers installed")
            proc.send_signal(signal.SIGUSR1)
            proc.terminate()
            self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)
        finally:
            proc.kill()
            proc.wait()
        after = os.stat("/dev/null")
        self.assertTrue(stat.S_ISCHR(after.st_mode))
        self.assertEqual(before.st_rdev, after.st_rdev)
        self.assertFalse(os.path.exists("/dev/null.1"))


@unittest.skipUnless(IS_ROOT, "dropping privileges needs root (CI runs as root)")
class PrivilegeTest(RunnerTestCase):
    def test_drop_to_nobody_after_binding_a_low_port(self):
        port = free_low_port()
        self.start_daemon(self.poetry_args(f"tcp:{port}:{LOOPBACK}"), runner_args=["-u", "nobody"])
        pid = self.daemon_pid()
        wait_for_log(self.logfile, r"set uid/gid 65534/65534")
        self.assertEqual(fetch("127.0.0.1", port), POEM.encode())
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        self.assertRegex(status, r"Uid:\t65534\t65534\t65534\t65534")
        self.assertRegex(status, r"Gid:\t65534\t65534\t65534\t65534")
        self.assertEqual(os.stat(self.logfile).st_uid, 65534)
        # SIGUSR1 still rotates after the drop: the log belongs to nobody, but the directory does not.
        os.chmod(self.tmp, 0o777)
        os.kill(pid, signal.SIGUSR1)
        # Rotation is rename then reopen: wait for the new file too, or the directory is closed again in between.
        wait_for(lambda: os.path.exists(self.path("cppd.log.1")) and os.path.exists(self.logfile),
                 what="rotation as nobody")
        os.chmod(self.tmp, 0o755)
        os.kill(pid, signal.SIGTERM)
        self.wait_gone(pid)
        # The pidfile's directory belongs to root: nobody cannot unlink it, so it is truncated instead.
        self.assertEqual(read_text(self.pidfile), "")
        self.assertIn("truncated it instead", read_text(self.logfile))

    def test_unwritable_log_directory_after_the_drop_is_reported_once(self):
        self.start_daemon(self.poetry_args(), runner_args=["-u", "nobody"])
        wait_for_log(self.logfile, r"is not writable by uid 65534")


@unittest.skipUnless(os.geteuid() == 0, "chroot needs root")
class ChrootTest(RunnerTestCase):
    def test_chroot_runs_the_services_inside_the_new_root(self):
        # Paths in plugin options name host files, opened when the service is made (before the chroot): the
        # host's poem is served, not a file of the same name inside the new root.
        jail = self.path("jail")
        inside = jail + self.poem
        os.makedirs(os.path.dirname(inside))
        with open(inside, "w") as f:
            f.write("the poem inside the jail\n")
        self.start_daemon(self.poetry_args(), runner_args=["--chroot", jail])
        pid = self.daemon_pid()
        port = self.port_from_log()
        with open(self.poem, "rb") as f:
            self.assertEqual(fetch("127.0.0.1", port), f.read())
        self.assertEqual(os.readlink(f"/proc/{pid}/root"), jail)
        self.assertEqual(os.readlink(f"/proc/{pid}/cwd"), jail)
        # The pidfile and log stay where the user named them, outside the jail, and the pidfile is removed.
        os.kill(pid, signal.SIGTERM)
        self.wait_gone(pid)
        self.assertFalse(os.path.exists(self.pidfile))
        self.assertIn("Server Shut Down.", read_text(self.logfile))


if __name__ == "__main__":
    unittest.main()
