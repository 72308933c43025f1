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
# Worker kills while the counters are watched: 20 in CI, 100 in tests/stress (workers_metrics_kills).
KILLS = int(os.environ.get("CPPD_METRICS_KILLS", "20"))


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
        # The workers count into memory the supervisor reads: exact as soon as the clients have their poems.
        self.assertEqual(sum(w["accepted"] for w in workers), 20)
        service = status["services"][0]
        poem = os.path.getsize(ECSTASY)
        self.assertEqual((service["accepted"], service["bytes_sent"], service["errors"]), (20, 20 * poem, 0))
        # A connection leaves the open count in its close callback, just after the client saw the end.
        wait_for(lambda: self.status(path)["services"][0]["active"] == 0, what="no connection open")

        # A worker killed from outside is replaced under the same id, with its restart counted.
        victim = next(w for w in workers if w["id"] == 1)
        os.kill(victim["pid"], signal.SIGKILL)
        replaced = wait_for(lambda: next((w for w in self.status(path)["workers"]
                                          if w["id"] == 1 and w["pid"] != victim["pid"]), None),
                            what="worker 1 to be replaced")
        self.assertEqual(replaced["restarts"], 1)

        # Counters never go down for a reader while workers die: the supervisor keeps a reaped worker's counts.
        highest, served = 0, 20
        for round_ in range(KILLS):
            fetch("127.0.0.1", port)
            served += 1
            before = self.status(path)
            accepted = before["services"][0]["accepted"]
            self.assertGreaterEqual(accepted, max(highest, served), f"round {round_}: {before}")
            highest = accepted
            victim = before["workers"][round_ % len(before["workers"])]["pid"]
            os.kill(victim, signal.SIGKILL)

            def replaced_and_counted():
                now = self.status(path)
                counted = now["services"][0]["accepted"]
                self.assertGreaterEqual(counted, highest, f"round {round_}: the count went down: {now}")
                pids = [w["pid"] for w in now["workers"]]
                return victim not in pids and len(pids) == 2
            wait_for(replaced_and_counted, what=f"round {round_}: the killed worker replaced")
        final = self.status(path)["services"][0]
        self.assertEqual((final["accepted"], final["bytes_sent"]), (served, served * poem))
        print(f"\n  {KILLS} worker kills: accepted {final['accepted']} of {served}, never going down")

        reopen = ctl("-s", path, "reopen")
        self.assertEqual(reopen.returncode, 0, reopen.stderr)
        stop = ctl("-s", path, "stop")
        self.assertEqual(stop.returncode, 0, stop.stderr)
        self.assertEqual(server.proc.wait(DEFAULT_TIMEOUT), 0)
        self.assertIn("Stop requested on the control socket, shutting down.", server.log())
        self.assertFalse(os.path.exists(path))
        for pid in pids | {replaced["pid"]}:  # the first workers (the later ones are checked by the kill loop)
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
