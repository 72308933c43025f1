"""Reloads (SIGUSR2, `cppdctl reload`) of a supervisor of workers, end to end: the real cppd and cppdctl binaries,
real sockets on 127.0.0.1 port 0, a deployment file in the test's own directory.

A reload runs the cppd binary as installed now with --check, then re-execs the supervisor in place (same PID)
with its listening sockets, pidfile lock and workers handed over; the new generation starts on the same sockets
and the old one drains once it all serves. Every failure leaves the old generation serving. The long proof (a
thousand reloads under load) is tests/stress's reload scenario; here each promise is shown once, quickly.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import unittest

import cppdtest
from cppdtest import CPPD, DEFAULT_TIMEOUT, PLUGIN_DIR, fetch, process_exists, read_text, wait_for
from workers import ECSTASY, TEST_PLUGIN_DIR, LoadLoop, Workers, WorkersTestCase, parent_pid

CPPDCTL = os.environ.get("CPPDCTL_BIN", os.path.join(os.path.dirname(CPPD), "cppdctl"))


def ctl(*args, timeout=DEFAULT_TIMEOUT * 2):
    return subprocess.run([CPPDCTL, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class ReloadTest(WorkersTestCase):

    def setUp(self):
        super().setUp()
        self.control = self.path("cppd.ctl")
        with open(ECSTASY, "rb") as f:
            self.poem = f.read()

    def deployment(self, extra="", port="tcp:0:interface=127.0.0.1"):
        self.write("deploy.toml", f'[[service]]\nplugin = "fastpoetry"\nname = "poems"\nport = "{port}"\n'
                                  f'poem = "{ECSTASY}"\n{extra}')

    def start(self, workers=2, runner=(), binary=None, env=None):
        self.deployment()
        args = ["--workers", str(workers), "--control", self.control, *runner, "-y", self.path("deploy.toml")]
        server = self.start_server(args, env=env) if binary is None else self.start_binary(binary, args)
        server.wait_for_log(r"\[supervisor\] all workers serving")
        return server, Workers(server), server.listening_port()

    def start_binary(self, binary, args):
        saved = cppdtest.CPPD
        cppdtest.CPPD = binary
        try:
            return self.start_server(args)
        finally:
            cppdtest.CPPD = saved

    def reload(self, *extra):
        return ctl("-s", self.control, "reload", *extra)

    def status(self):
        result = ctl("-s", self.control, "--json", "status")
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["result"]

    def assert_serves(self, port):
        self.assertEqual(fetch("127.0.0.1", port), self.poem)

    def test_reload_under_load_loses_nothing_and_keeps_pid_port_and_counts(self):
        server, workers, port = self.start(runner=("--metrics", "tcp:0:interface=127.0.0.1"))
        old = set(workers.wait_serving(2).values())
        load = LoadLoop(port, threads=4, count=20000, seconds=30)
        try:
            for generation in (2, 3, 4):
                result = self.reload()
                self.assertEqual(result.returncode, 0, result.stderr + server.log()[-3000:])
                self.assertEqual(result.stdout.strip(), f"reloaded: generation {generation}, 2 workers")
        finally:
            clients = load.stop()
        failed = [(c.error, c.received) for c in clients if not c.whole(self._digest())]
        self.assertGreater(len(clients), 50)
        self.assertEqual(failed, [], f"{len(failed)} of {len(clients)} connections failed")
        status = self.status()
        self.assertEqual(status["pid"], server.pid)
        self.assertEqual((status["generation"], status["reloads"], status["failed_reloads"]), (4, 3, 0))
        new = set(workers.wait_serving(2, exclude=old).values())
        self.assertFalse(new & old)
        wait_for(lambda: not any(process_exists(pid) and parent_pid(pid) == server.pid for pid in old),
                 what="the first generation's workers to be gone")
        self.assert_serves(port)
        self.assertEqual(server.stop(), 0)
        self.assertFalse(os.path.exists(self.control))

    def _digest(self):
        return hashlib.sha256(self.poem).hexdigest()

    def test_the_pidfile_keeps_naming_the_supervisor_and_its_lock_across_a_reload(self):
        pidfile = self.path("cppd.pid")
        server, workers, port = self.start(runner=(f"--pidfile={pidfile}",))
        with open(pidfile) as f:
            self.assertEqual(f.read(), f"{server.pid}\n")
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(pidfile) as f:
            self.assertEqual(f.read(), f"{server.pid}\n")
        second = cppdtest.run_cppd(["--nodaemon", f"--pidfile={pidfile}", "--logfile", self.path("second.log"),
                                    "fastpoetry", "--port", "tcp:0:interface=127.0.0.1", "--poem", ECSTASY],
                                   cwd=self.tmp)
        self.assertEqual(second.returncode, 75, second.stderr)
        self.assertIn(f"Another cppd server is running, PID {server.pid}", second.stderr)
        self.assertEqual(server.stop(), 0)
        self.assertFalse(os.path.exists(pidfile))

    def test_sigusr2_reloads_and_a_reload_asked_meanwhile_is_queued_not_lost(self):
        server, workers, port = self.start()
        server.signal(signal.SIGUSR2)
        # The second comes while the first is checking, exec'ing or starting its workers (two sent at once would
        # be one pending signal to the kernel): it runs once the first is done.
        server.wait_for_log(r"reload \(SIGUSR2\): checking the new configuration")
        server.signal(signal.SIGUSR2)
        server.wait_for_log(r"reloaded: generation 3, 2 workers")
        self.assertEqual(self.status()["reloads"], 2)
        self.assert_serves(port)

    def test_a_sighup_sent_while_the_new_image_starts_is_kept_for_it(self):
        # logrotate's SIGHUP may come while a reload execs and the new image starts: it is held (pending) until the
        # new image's handlers exist, not ignored, and the new image reopens the log. The stuck plugin's slow
        # privileged start holds the new image there for 3 s.
        plugins = self.stuck_plugin()
        server, workers, port = self.start(runner=("--plugin-path", plugins))
        self.deployment('[[service]]\nplugin = "stuck"\nname = "slow"\nmode = "slow-privileged"\nafter = 3000\n')
        server.signal(signal.SIGUSR2)
        server.wait_for_log(r"(?s)starting up \(reload of PID.*privileged start waiting")
        os.rename(server.logfile, self.path("rotated.log"))
        server.signal(signal.SIGHUP)
        status = read_text(f"/proc/{server.pid}/status")
        pending = [int(line.split()[1], 16) for line in status.splitlines() if line.startswith(("SigPnd:", "ShdPnd:"))]
        self.assertTrue(any(p & (1 << (signal.SIGHUP - 1)) for p in pending), status)
        wait_for(lambda: "reloaded: generation 2" in read_text(server.logfile),
                 what="the reload's last line in the reopened log")
        self.assertNotIn("reloaded: generation 2", read_text(self.path("rotated.log")))
        self.assert_serves(port)

    def test_a_deployment_file_with_an_error_is_named_and_the_old_generation_keeps_serving(self):
        server, workers, port = self.start()
        old = workers.wait_serving(2)
        self.write("deploy.toml", '[[service]]\nplugin = "fastpoetry"\nname = "poems"\nport = 7\n')
        result = self.reload()
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"reload failed: .*deploy\.toml")
        self.assertIn("generation 1 keeps serving", result.stderr)
        self.assertEqual(workers.serving(), old)
        self.assert_serves(port)
        status = self.status()
        self.assertEqual((status["generation"], status["failed_reloads"]), (1, 1))
        self.deployment()
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_reload_check_reports_without_changing_anything(self):
        server, workers, port = self.start()
        old = workers.wait_serving(2)
        result = self.reload("--check")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("OK, 1 service, 2 workers", result.stdout)
        self.write("deploy.toml", "[[service]]\nplugin = \"nosuchplugin\"\n")
        result = self.reload("--check")
        self.assertEqual(result.returncode, 1)
        self.assertIn("nosuchplugin", result.stderr)
        self.assertEqual(workers.serving(), old)
        self.assertEqual(self.status()["generation"], 1)

    def stuck_plugin(self):
        if not TEST_PLUGIN_DIR or not os.path.exists(os.path.join(TEST_PLUGIN_DIR, "stuck.so")):
            self.skipTest("the stuck test plugin is not built (target test_plugin_stuck)")
        plugins = self.path("plugins")
        os.makedirs(plugins, exist_ok=True)
        shutil.copy(os.path.join(TEST_PLUGIN_DIR, "stuck.so"), plugins)
        return plugins

    def test_new_workers_that_fail_to_start_leave_the_old_generation_serving(self):
        plugins = self.stuck_plugin()
        server, workers, port = self.start(runner=("--plugin-path", plugins))
        old = workers.wait_serving(2)
        self.deployment('[[service]]\nplugin = "stuck"\nmode = "fail-start"\n')
        result = self.reload()
        self.assertEqual(result.returncode, 1)
        self.assertIn("stuck: start refused on purpose", result.stderr)
        self.assertIn("generation 1 keeps serving (2 workers)", result.stderr)
        self.assertEqual(workers.serving(), old)
        self.assert_serves(port)
        refused = ctl("-s", self.control, "workers", "add")
        self.assertEqual(refused.returncode, 1)
        self.assertIn("reload again", refused.stderr)
        self.deployment()
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr + server.log()[-3000:])
        self.assertEqual(result.stdout.strip(), "reloaded: generation 2, 2 workers")
        self.assert_serves(port)

    def test_new_workers_not_serving_within_the_reload_timeout_are_abandoned(self):
        plugins = self.stuck_plugin()
        # Long enough for the check (nice 10, a sanitizer build, a busy CI machine: 0.5 s was seen to run out),
        # which the same timeout bounds; the new workers never serve, so the timeout still decides.
        server, workers, port = self.start(runner=("--plugin-path", plugins, "--reload-timeout", "4"))
        old = workers.wait_serving(2)
        self.deployment('[[service]]\nplugin = "stuck"\nmode = "block-start"\n')
        result = self.reload()
        self.assertEqual(result.returncode, 1)
        self.assertIn("did not all serve within --reload-timeout (4 s)", result.stderr)
        self.assertEqual(workers.serving(), old)
        self.assert_serves(port)
        server.wait_for_log(r"of the failed generation 2 did not stop; killing it")
        self.deployment()
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr + server.log()[-3000:])

    def test_an_upgraded_binary_takes_effect_and_a_missing_one_is_refused(self):
        bindir = self.path("bin")
        os.makedirs(bindir)
        binary = os.path.join(bindir, "cppd")
        shutil.copy2(CPPD, binary)
        libdir = os.path.join(os.path.dirname(CPPD), "..", "lib")
        if os.path.isdir(libdir):
            shutil.copytree(libdir, self.path("lib"), symlinks=True)
        server, workers, port = self.start(binary=binary, runner=("--plugin-path", PLUGIN_DIR))
        before = os.stat(f"/proc/{server.pid}/exe").st_ino
        upgraded = binary + ".new"
        shutil.copy2(CPPD, upgraded)
        os.rename(upgraded, binary)  # as a package manager replaces it: a new file under the same name
        self.assertTrue(os.readlink(f"/proc/{server.pid}/exe").endswith("(deleted)"))
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr + server.log()[-3000:])
        self.assertNotEqual(os.stat(f"/proc/{server.pid}/exe").st_ino, before)
        self.assertEqual(os.readlink(f"/proc/{server.pid}/exe"), binary)
        os.rename(binary, binary + ".gone")
        result = self.reload()
        self.assertEqual(result.returncode, 1)
        self.assertIn("No such file or directory", result.stderr)
        self.assert_serves(port)
        self.assertEqual(self.status()["generation"], 2)

    def test_a_new_endpoint_is_bound_and_a_removed_one_closes(self):
        server, workers, port = self.start()
        self.deployment('[[service]]\nplugin = "fastpoetry"\nname = "more"\nport = "tcp:0:interface=127.0.0.1"\n'
                        f'poem = "{ECSTASY}"\n')
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr)
        listeners = ctl("-s", self.control, "listeners").stdout
        ports = sorted(int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", listeners))
        self.assertEqual(len(ports), 2, listeners)
        self.assertIn(port, ports)
        for p in ports:
            self.assert_serves(p)
        other = [p for p in ports if p != port][0]
        self.deployment(port="tcp:0:interface=127.0.0.1")  # "poems" only, on the same endpoint text
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_serves(port)

        def closed():
            try:
                fetch("127.0.0.1", other, timeout=1)
                return False
            except ConnectionRefusedError:
                return True
        wait_for(closed, what=f"port {other} to close once its old workers stopped")

    def test_systemd_hears_reloading_then_ready_with_the_outcome(self):
        sock, path = self.notify_socket()
        server, workers, port = self.start(env={**os.environ, "NOTIFY_SOCKET": path})
        messages = []

        def heard(text):
            while not any(text in m for m in messages):
                messages.append(sock.recv(4096).decode())
            return True
        heard("READY=1")
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr)
        heard("STATUS=reloaded: generation 2, 2 workers")
        reloading = [m for m in messages if m.startswith("RELOADING=1")]
        self.assertEqual(len(reloading), 1, messages)
        self.assertRegex(reloading[0], r"\nMONOTONIC_USEC=\d+\n")
        self.assertFalse([m for m in messages if m.startswith("MAINPID=") and m != f"MAINPID={server.pid}"])
        self.write("deploy.toml", "[[service]]\nplugin = \"nosuchplugin\"\n")
        self.assertEqual(self.reload().returncode, 1)
        heard("STATUS=reload failed: ")

    def test_metrics_stay_monotonic_across_a_reload(self):
        server, workers, port = self.start(runner=("--metrics", "tcp:0:interface=127.0.0.1"))
        metrics_port = int(server.wait_for_log(r"Metrics endpoint listening on \S*?:(\d+) ").group(1))
        for _ in range(20):
            self.assert_serves(port)

        def accepted():
            text = fetch("127.0.0.1", metrics_port, request=b"GET /metrics HTTP/1.0\r\n\r\n").decode()
            m = re.search(r'^cppd_connections_accepted_total\{service="poems"\} (\d+)', text, re.M)
            return int(m.group(1)) if m else 0
        wait_for(lambda: accepted() >= 20, what="20 accepted connections counted")
        result = self.reload()
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertGreaterEqual(accepted(), 20)
        text = fetch("127.0.0.1", metrics_port, request=b"GET /metrics HTTP/1.0\r\n\r\n").decode()
        self.assertRegex(text, r"(?m)^cppd_reloads_total 1$")


if __name__ == "__main__":
    unittest.main()
