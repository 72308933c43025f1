"""cppd under a service manager and as a container entrypoint: sd_notify readiness on a real notification
socket, socket activation through Debian's real systemd-socket-activate, and PID 1 of a new PID namespace.
"""
import os
import shutil
import signal
import subprocess
import unittest

from cppdtest import (CPPD, DEFAULT_TIMEOUT, POETRY_DIR, TempDirTestCase, children_of, fetch,
                      fetch_when_listening, read_bytes, read_text, wait_for, wait_for_log)

ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
LOOPBACK = "tcp:0:interface=127.0.0.1"


def state_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


class NotifyTest(TempDirTestCase):
    def test_ready_then_stopping_reach_the_notification_socket(self):
        sock, path = self.notify_socket()
        env = dict(os.environ, NOTIFY_SOCKET=path)
        server = self.start_server(["fastpoetry", "--port", LOOPBACK, "--poem", ECSTASY], env=env)
        ready = sock.recv(4096).decode()
        self.assertIn("READY=1", ready)
        self.assertIn("STATUS=", ready)
        # READY comes only once the service is really serving.
        port = server.listening_port()
        self.assertEqual(fetch("127.0.0.1", port), read_bytes(ECSTASY))
        server.signal(signal.SIGTERM)
        stopping = sock.recv(4096).decode()
        self.assertIn("STOPPING=1", stopping)
        self.assertIn("STATUS=Received SIGTERM, shutting down.", stopping)
        self.assertEqual(server.proc.wait(DEFAULT_TIMEOUT), 0)

    def test_daemon_mode_reports_its_main_pid_before_ready(self):
        sock, path = self.notify_socket()
        env = dict(os.environ, NOTIFY_SOCKET=path)
        result = subprocess.run([CPPD, "--pidfile", self.path("cppd.pid"), "--logfile", self.path("cppd.log"),
                                 "fastpoetry", "--port", LOOPBACK, "--poem", ECSTASY],
                                cwd=self.tmp, env=env, capture_output=True, text=True, timeout=DEFAULT_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        pid = int(read_text(self.path("cppd.pid")))
        self.addCleanup(lambda: os.kill(pid, signal.SIGKILL) if os.path.exists(f"/proc/{pid}") else None)
        self.assertEqual(sock.recv(4096).decode(), f"MAINPID={pid}")
        self.assertIn("READY=1", sock.recv(4096).decode())
        os.kill(pid, signal.SIGTERM)
        self.assertIn("STOPPING=1", sock.recv(4096).decode())
        wait_for(lambda: not os.path.exists(self.path("cppd.pid")), what="the daemon to remove its pidfile")

    def test_watchdog_pings_at_half_the_interval(self):
        sock, path = self.notify_socket()
        # WATCHDOG_PID must name the process the watchdog is meant for: cppd execs in place of this shell.
        command = (f'WATCHDOG_PID=$$ WATCHDOG_USEC=200000 exec "{CPPD}" --nodaemon --pidfile= '
                   f'--logfile "{self.path("cppd.log")}" fastpoetry --port {LOOPBACK} --poem "{ECSTASY}"')
        proc = subprocess.Popen(["sh", "-c", command], cwd=self.tmp, env=dict(os.environ, NOTIFY_SOCKET=path))
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait()))
        messages = [sock.recv(4096).decode() for _ in range(4)]
        self.assertIn("READY=1", messages[0])
        self.assertGreaterEqual(sum(m == "WATCHDOG=1" for m in messages), 2)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)


@unittest.skipUnless(shutil.which("start-stop-daemon"), "start-stop-daemon (dpkg) is not installed")
class StartStopDaemonTest(TempDirTestCase):
    def test_start_stop_daemon_notify_await_returns_once_cppd_is_ready(self):
        pidfile, log = self.path("cppd.pid"), self.path("cppd.log")
        # --notify-await makes start-stop-daemon wait for READY=1 on a NOTIFY_SOCKET of its own: when it returns
        # 0 the daemon is serving, with no polling by the caller.
        start = subprocess.run(["start-stop-daemon", "--start", "--notify-await", "--notify-timeout", "20",
                                "--pidfile", pidfile, "--exec", CPPD, "--", "--pidfile", pidfile, "--logfile", log,
                                "fastpoetry", "--port", LOOPBACK, "--poem", ECSTASY],
                               cwd=self.tmp, capture_output=True, text=True, timeout=DEFAULT_TIMEOUT + 10)
        self.assertEqual(start.returncode, 0, start.stderr)
        pid = int(read_text(pidfile))
        self.addCleanup(lambda: os.kill(pid, signal.SIGKILL) if os.path.exists(f"/proc/{pid}") else None)
        port = int(wait_for_log(log, r"starting on (\d+)").group(1))
        self.assertEqual(fetch("127.0.0.1", port), read_bytes(ECSTASY))
        stop = subprocess.run(["start-stop-daemon", "--stop", "--pidfile", pidfile, "--retry", "TERM/20"],
                              capture_output=True, text=True, timeout=DEFAULT_TIMEOUT + 10)
        self.assertEqual(stop.returncode, 0, stop.stderr)
        self.assertIn("Server Shut Down.", read_text(log))
        self.assertFalse(os.path.exists(pidfile))


@unittest.skipUnless(shutil.which("systemd-socket-activate"), "systemd-socket-activate is not installed")
class SocketActivationTest(TempDirTestCase):
    def activate(self, endpoint, extra=()):
        return self.socket_activated(["fastpoetry", "--port", endpoint, "--poem", ECSTASY], extra)

    def test_the_systemd_endpoint_adopts_the_activated_socket_by_name(self):
        proc, port, log = self.activate("systemd:domain=INET:name=poetry", ["--fdname=poetry"])
        self.assertEqual(fetch_when_listening(port), read_bytes(ECSTASY))
        self.assertEqual(fetch("127.0.0.1", port), read_bytes(ECSTASY))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)
        self.assertIn("Server Shut Down.", read_text(log))

    def test_the_systemd_endpoint_adopts_the_activated_socket_by_index(self):
        proc, port, log = self.activate("systemd:domain=INET:index=0")
        self.assertEqual(fetch_when_listening(port), read_bytes(ECSTASY))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare") and shutil.which("nsenter"),
                     "needs root, unshare and nsenter to make a PID namespace")
class Pid1Test(TempDirTestCase):
    def start_as_pid1(self):
        log = self.path("cppd.log")
        proc = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", CPPD, "--nodaemon", "--pidfile=",
                                 "--logfile", log, "fastpoetry", "--port", LOOPBACK, "--poem", ECSTASY],
                                cwd=self.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait()))
        cppd_pid = wait_for(lambda: (children_of(proc.pid) or [None])[0], what="cppd under unshare")
        wait_for_log(log, r"starting on \d+")
        return proc, cppd_pid, log

    def test_as_pid1_sigterm_stops_cleanly_with_status_0(self):
        proc, cppd_pid, log = self.start_as_pid1()
        with open(f"/proc/{cppd_pid}/status") as f:
            self.assertIn("NSpid:", f.read())
        os.kill(cppd_pid, signal.SIGTERM)
        self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)
        self.assertIn("Server Shut Down.", read_text(log))

    def test_as_pid1_orphans_are_reaped(self):
        proc, cppd_pid, log = self.start_as_pid1()
        # A shell entering the namespace leaves a short-lived orphan behind: cppd, as PID 1, inherits it.
        subprocess.run(["nsenter", "--target", str(cppd_pid), "--pid", "sh", "-c", "true & exit 0"],
                       check=True, timeout=DEFAULT_TIMEOUT)
        wait_for_log(log, r"reaped child PID \d+ \(exit status 0\)")
        wait_for(lambda: all(state_of(c) != "Z" for c in children_of(cppd_pid)), what="no zombie under cppd")
        os.kill(cppd_pid, signal.SIGTERM)
        self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)


if __name__ == "__main__":
    unittest.main()
