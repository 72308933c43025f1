"""--workers from a deployment file: `workers = N` in [cppd], and a [[service]] pinned to worker 1 (`workers = 1`),
on the real binary. Clients find the worker that served them through their connection's log line."""
import os
import re
import unittest

from cppdtest import POETRY_DIR, TempDirTestCase, fetch, run_cppd, wait_for

ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")


def deployment(workers_line="workers = 3", pin="workers = 1"):
    return f"""
[cppd]
{workers_line}

[[service]]
plugin = "fastpoetry"
name = "everywhere"
port = "tcp:0:interface=127.0.0.1"
poem = "{ECSTASY}"

[[service]]
plugin = "fastpoetry"
name = "once"
{pin}
port = "tcp:0:interface=127.0.0.1"
poem = "{ECSTASY}"
"""


class WorkersDeploymentTest(TempDirTestCase):
    def ports(self, server):
        found = {}
        def both():
            for name, port in re.findall(r"\[(\w+)\] \1:PoetryFactory starting on (\d+)", server.log()):
                found[name] = int(port)
            return len(found) == 2
        wait_for(both, what="both services listening")
        return found

    def served_by(self, server, service, count):
        pattern = re.compile(rf"\[{service}:PoetryProtocol,w(\d+),")
        lines = wait_for(lambda: (m := pattern.findall(server.log())) and len(m) >= count and m,
                         what=f"{count} connections of {service} logged")
        return set(lines)

    def test_a_pinned_service_runs_in_worker_one_only_and_the_others_in_every_worker(self):
        self.write("deploy.toml", deployment())
        server = self.start_server(["-y", self.path("deploy.toml")])
        server.wait_for_log(r"\[supervisor\] all workers serving \(3\)")
        ports = self.ports(server)
        with open(ECSTASY, "rb") as f:
            poem = f.read()
        for _ in range(60):
            self.assertEqual(fetch("127.0.0.1", ports["once"]), poem)
            self.assertEqual(fetch("127.0.0.1", ports["everywhere"]), poem)
        self.assertEqual(self.served_by(server, "once", 60), {"1"})
        # Which worker accepts a connection is the kernel's choice: one fast worker may take a run of sequential
        # connections on a busy machine. More connections (bounded) until a second worker has taken one.
        def served_by_several():
            self.assertEqual(fetch("127.0.0.1", ports["everywhere"]), poem)
            return len(set(re.findall(r"\[everywhere:PoetryProtocol,w(\d+),", server.log()))) > 1
        wait_for(served_by_several, interval=0, what="a second worker to serve 'everywhere' (at most 20 s)")
        # Only worker 1 started the pinned service ("[once,w1] loaded a poem"), every worker the other one.
        log = server.log()
        self.assertEqual(set(re.findall(r"\[once,w(\d+)\] loaded a poem", log)), {"1"})
        self.assertEqual(set(re.findall(r"\[everywhere,w(\d+)\] loaded a poem", log)), {"1", "2", "3"})
        self.assertEqual(server.stop(), 0)

    def test_workers_in_a_service_can_only_be_one(self):
        for pin in ("workers = 2", "workers = 0", 'workers = "1"', "workers = true"):
            with self.subTest(pin=pin):
                self.write("deploy.toml", deployment(pin=pin))
                result = run_cppd(["-n", "-y", self.path("deploy.toml")], cwd=self.tmp)
                self.assertEqual(result.returncode, 78, result.stderr)
                self.assertIn("deploy.toml:14: key 'workers': a service runs in every worker, or with workers = 1",
                              result.stderr)

    def test_workers_in_the_cppd_table_is_checked_like_the_option(self):
        for value, shown in (("0", "0"), ('"many"', "many"), ("1025", "1025")):
            with self.subTest(value=value):
                self.write("deploy.toml", deployment(workers_line=f"workers = {value}"))
                result = run_cppd(["-n", "-y", self.path("deploy.toml")], cwd=self.tmp)
                self.assertEqual(result.returncode, 78, result.stderr)
                self.assertIn(f"key 'workers'", result.stderr)
                self.assertIn(f"'{shown}' is not a number of workers (1-1024) or 'auto'", result.stderr)


if __name__ == "__main__":
    unittest.main()
