"""cppdctl against a supervisor (--workers): the supervisor serves the control socket on its own loop, status lists
every worker with its PID and accepted count, reopen reaches the workers, stop drains them all; and a worker
that is replaced shows up with a restart."""
import json
import os
import signal
import subprocess

from cppdtest import CPPD, DEFAULT_TIMEOUT, TempDirTestCase, fetch, wait_for
from workers import ECSTASY, LOOPBACK

CPPDCTL = os.environ.get("CPPDCTL_BIN", os.path.join(os.path.dirname(CPPD), "cppdctl"))


def ctl(*args):
    return subprocess.run([CPPDCTL, *args], capture_output=True, text=True, timeout=DEFAULT_TIMEOUT,
                          stdin=subprocess.DEVNULL)


class WorkersControlTest(TempDirTestCase):
    def status(self, path):
        result = ctl("-s", path, "--json", "status")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["result"]

    def test_status_lists_the_workers_and_stop_drains_them(self):
        path = self.path("cppd.ctl")
        server = self.start_server(["--control", path, "--workers", "2", "fastpoetry", "--port", LOOPBACK,
                                    "--poem", ECSTASY])
        server.wait_for_log(r"all workers serving \(2\)")
        port = server.listening_port()
        for _ in range(20):
            fetch("127.0.0.1", port)
        status = self.status(path)
        self.assertEqual(status["pid"], server.pid)
        workers = status["workers"]
        self.assertEqual(sorted(w["id"] for w in workers), [1, 2])
        pids = {w["pid"] for w in workers}
        self.assertEqual(len(pids), 2)
        self.assertNotIn(server.pid, pids)
        # The accepted counts arrive with the workers' heartbeats (at least once a second).
        wait_for(lambda: sum(w["accepted"] for w in self.status(path)["workers"]) == 20,
                 what="the workers' accepted counts to add up to the 20 connections")

        # A worker killed from outside is replaced under the same id, with its restart counted.
        victim = next(w for w in workers if w["id"] == 1)
        os.kill(victim["pid"], signal.SIGKILL)
        replaced = wait_for(lambda: next((w for w in self.status(path)["workers"]
                                          if w["id"] == 1 and w["pid"] != victim["pid"]), None),
                            what="worker 1 to be replaced")
        self.assertEqual(replaced["restarts"], 1)

        reopen = ctl("-s", path, "reopen")
        self.assertEqual(reopen.returncode, 0, reopen.stderr)
        stop = ctl("-s", path, "stop")
        self.assertEqual(stop.returncode, 0, stop.stderr)
        self.assertEqual(server.proc.wait(DEFAULT_TIMEOUT), 0)
        self.assertIn("Stop requested on the control socket, shutting down.", server.log())
        self.assertFalse(os.path.exists(path))
        for pid in pids | {replaced["pid"]}:
            self.assertFalse(os.path.exists(f"/proc/{pid}/status") and "State:\tZ" not in open(
                f"/proc/{pid}/status").read(), f"worker {pid} outlived the stop")


if __name__ == "__main__":
    import unittest
    unittest.main()
