"""--workers under a service manager: READY=1 once every worker serves (with the worker count in STATUS=),
MAINPID= the supervisor, socket activation shared by every worker, and the supervisor as PID 1 of a container."""
import os
import re
import shutil
import signal
import subprocess
import unittest

from cppdtest import (CPPD, DEFAULT_TIMEOUT, TempDirTestCase, children_of, fetch, fetch_when_listening, read_bytes,
                      read_text, wait_for, wait_for_log)
from workers import ECSTASY, LOOPBACK, workers_in_log


class WorkersNotifyTest(TempDirTestCase):
    """What only --workers adds to sd_notify (systemd_test covers READY=1, MAINPID= and STOPPING=1 themselves): the
    supervisor is the main PID, and READY=1 waits for every worker and names their count."""

    def test_ready_names_the_supervisor_and_comes_once_every_worker_serves(self):
        sock, path = self.notify_socket()
        logfile = self.path("cppd.log")
        result = subprocess.run([CPPD, "--workers", "3", "--pidfile", self.path("cppd.pid"), "--logfile", logfile,
                                 "fastpoetry", "--port", LOOPBACK, "--poem", ECSTASY],
                                cwd=self.tmp, env=dict(os.environ, NOTIFY_SOCKET=path), capture_output=True,
                                text=True, timeout=DEFAULT_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        pid = int(read_text(self.path("cppd.pid")))
        self.addCleanup(lambda: os.kill(pid, signal.SIGKILL) if os.path.exists(f"/proc/{pid}") else None)
        self.assertEqual(sock.recv(4096).decode(), f"MAINPID={pid}")
        ready = sock.recv(4096).decode()
        self.assertIn("READY=1", ready)
        self.assertIn("3 workers", ready)
        self.assertEqual(len(children_of(pid)), 3)
        # By the time READY=1 was sent, the supervisor had seen every worker serve (its lines leave the log's
        # batch at the end of that loop iteration, so they are waited for).
        wait_for_log(logfile, r"all workers serving \(3\)")
        log = read_text(logfile)
        self.assertEqual(len(re.findall(r"\[supervisor\] worker \d \(PID \d+\) serving", log)), 3)
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not os.path.exists(self.path("cppd.pid")), what="the supervisor to remove its pidfile")


@unittest.skipUnless(shutil.which("systemd-socket-activate"), "systemd-socket-activate is not installed")
class WorkersSocketActivationTest(TempDirTestCase):
    def test_every_worker_serves_the_activated_socket(self):
        proc, port, log = self.socket_activated(["--workers", "2", "fastpoetry", "--port",
                                                 "systemd:domain=INET:name=poetry", "--poem", ECSTASY],
                                                ["--fdname=poetry"])
        poem = read_bytes(ECSTASY)
        self.assertEqual(fetch_when_listening(port), poem)
        wait_for_log(log, r"all workers serving \(2\)")
        for _ in range(200):
            self.assertEqual(fetch("127.0.0.1", port), poem)
            if workers_in_log(read_text(log)) == {1, 2}:
                break
        wait_for(lambda: workers_in_log(read_text(log)) == {1, 2}, what="both workers to serve a client")
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare") and shutil.which("nsenter"),
                     "needs root, unshare and nsenter to make a PID namespace")
class WorkersPid1Test(TempDirTestCase):
    def test_the_supervisor_as_pid1_reaps_orphans_and_stops_cleanly(self):
        log = self.path("cppd.log")
        proc = subprocess.Popen(["unshare", "--pid", "--fork", "--kill-child", CPPD, "--nodaemon", "--pidfile=",
                                 "--logfile", log, "--workers", "2", "fastpoetry", "--port", LOOPBACK,
                                 "--poem", ECSTASY], cwd=self.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait()))
        supervisor = wait_for(lambda: (children_of(proc.pid) or [None])[0], what="cppd under unshare")
        wait_for_log(log, r"all workers serving \(2\)")
        subprocess.run(["nsenter", "--target", str(supervisor), "--pid", "sh", "-c", "true & exit 0"],
                       check=True, timeout=DEFAULT_TIMEOUT)
        wait_for_log(log, r"\[supervisor\] reaped child PID \d+ \(exit status 0\)")
        self.assertEqual(len(children_of(supervisor)), 2)  # the orphan is gone, the workers are not
        os.kill(supervisor, signal.SIGTERM)
        self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)
        self.assertIn("Server Shut Down.", read_text(log))


if __name__ == "__main__":
    unittest.main()
