"""cppdctl against a supervisor (--workers): the supervisor serves the control socket on its own loop, status lists
every worker with its PID and accepted count, reopen reaches the workers, stop drains them all; and a worker
that is replaced shows up with a restart."""
import json
import os
import signal
import subprocess

from cppdtest import CPPD, DEFAULT_TIMEOUT, POETRY_DIR, TempDirTestCase, fetch, wait_for

ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
LOOPBACK = "tcp:0:interface=127.0.0.1"
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

    def test_workers_add_remove_and_worker_kill(self):
        path = self.path("cppd.ctl")
        server = self.start_server(["--control", path, "--workers", "1", "fastpoetry", "--port", LOOPBACK,
                                    "--poem", ECSTASY])
        server.wait_for_log(r"all workers serving \(1\)")
        port = server.listening_port()

        def ids():
            return sorted(w["id"] for w in self.status(path)["workers"])

        added = ctl("-s", path, "--json", "workers", "add", "2")
        self.assertEqual(added.returncode, 0, added.stderr)
        self.assertEqual(json.loads(added.stdout)["result"]["workers"], 3)
        wait_for(lambda: ids() == [1, 2, 3], what="workers 2 and 3 to start")
        server.wait_for_log(r"workers: 1 -> 3 \(cppdctl workers add\)")

        # All or nothing: three of three would leave none.
        refused = ctl("-s", path, "workers", "remove", "3")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("at least one must remain", refused.stderr)
        for bad, why in ((["workers", "add", "0"], "not a whole number from 1 to"),
                         (["workers", "add", "x\x1b"], "'x\\x1b'"), (["workers"], "usage: workers add|remove"),
                         (["worker", "kill"], "usage: worker kill ID"), (["worker", "kill", "9"], "no worker 9")):
            result = ctl("-s", path, *bad)
            self.assertEqual(result.returncode, 1, bad)
            self.assertIn(why, result.stderr, bad)

        # worker kill: a new worker 2 serves before the old one is asked to stop, and no fetch fails meanwhile.
        old = next(w["pid"] for w in self.status(path)["workers"] if w["id"] == 2)
        killed = ctl("-s", path, "--json", "worker", "kill", "2")
        self.assertEqual(killed.returncode, 0, killed.stderr)
        self.assertEqual(json.loads(killed.stdout)["result"]["pid"], old)
        wait_for(lambda: fetch("127.0.0.1", port) and old not in {w["pid"] for w in self.status(path)["workers"]}
                 and ids() == [1, 2, 3], what="worker 2 to be replaced")
        server.wait_for_log(rf"worker 2 \(PID {old}\) exited with status 0")

        removed = ctl("-s", path, "workers", "remove", "2")
        self.assertEqual(removed.returncode, 0, removed.stderr)
        wait_for(lambda: ids() == [1], what="workers 2 and 3 to stop")
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    import unittest
    unittest.main()
