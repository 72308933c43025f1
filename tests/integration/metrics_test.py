"""--metrics against the real daemon, in both process models: GET /metrics parses as the Prometheus text format
(prometheus_client's parser) with the required names, GET /ready answers 200 while serving and 503 within 100 ms
of SIGTERM while the stop is still under way, other paths and methods are refused properly, hostile clients (a
huge head, a stalled client, 100 connects) do not disturb serving, and an unbindable endpoint fails the start
with nothing left behind."""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

from cppdtest import DEFAULT_TIMEOUT, POETRY_DIR, TempDirTestCase, fetch, run_cppd, wait_for

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    # Debian's python3-prometheus-client lives in the system interpreter's dist-packages; an interpreter of the
    # same version from elsewhere (pyenv) can use it: it is pure Python.
    sys.path.append(f"/usr/lib/python3/dist-packages")
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        text_string_to_metric_families = None

ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
LOOPBACK = "tcp:0:interface=127.0.0.1"
METRICS_LINE = r"Metrics endpoint listening on 127\.0\.0\.1:(\d+)"
TEST_PLUGIN_DIR = os.environ.get("CPPD_TEST_PLUGIN_DIR", "")
# Sample names (prometheus_client names a counter's family without "_total"; its samples keep it).
# Both process models have them all: a single process counts as one worker that never restarts.
REQUIRED = {"cppd_build_info", "cppd_start_time_seconds", "cppd_connections_accepted_total", "cppd_connections_active",
            "cppd_bytes_sent_total", "cppd_reloads_total", "cppd_log_lines_lost_total", "cppd_workers",
            "cppd_worker_restarts_total"}


def samples(families):
    """{(sample name, frozenset of labels): value} of a scrape."""
    return {(s.name, frozenset(s.labels.items())): s.value for f in families.values() for s in f.samples}


def names(families):
    return {name for name, _ in samples(families)}


def exchange(port, request, timeout=DEFAULT_TIMEOUT):
    """Sends raw request bytes, returns everything the server sends until it closes."""
    return fetch("127.0.0.1", port, timeout, request)


def status_of(response):
    return int(response.split(b" ", 2)[1])


class MetricsTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        if text_string_to_metric_families is None:
            self.skipTest("prometheus_client is not installed (Debian: python3-prometheus-client)")

    def start(self, *args):
        server = self.start_server(["--metrics", LOOPBACK, *args])
        return server, int(server.wait_for_log(METRICS_LINE).group(1))

    def poetry(self, *args):
        return self.start(*args, "fastpoetry", "--port", LOOPBACK, "--poem", ECSTASY)

    def stuck(self, *args):
        if not TEST_PLUGIN_DIR or not os.path.exists(os.path.join(TEST_PLUGIN_DIR, "stuck.so")):
            self.skipTest("the stuck test plugin is not built (target test_plugin_stuck)")
        plugins = self.path("plugins")
        os.makedirs(plugins, exist_ok=True)
        shutil.copy(os.path.join(TEST_PLUGIN_DIR, "stuck.so"), plugins)
        return self.start("--shutdown-timeout", "1", *args, "--plugin-path", plugins, "stuck", "--mode", "stuck")

    def scrape(self, port):
        """GET /metrics with urllib: the families by name, after checking the head."""
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=DEFAULT_TIMEOUT) as reply:
            self.assertEqual(reply.status, 200)
            self.assertEqual(reply.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
            text = reply.read().decode("utf-8")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        self.assertLessEqual(REQUIRED, names(families), text)
        return families

    def curl(self, *args):
        return subprocess.run(["curl", "-sS", "--max-time", str(DEFAULT_TIMEOUT), *args], capture_output=True,
                              timeout=DEFAULT_TIMEOUT + 5, stdin=subprocess.DEVNULL)

    def assert_answers(self, port):
        """The paths, methods and limits every model shares."""
        body = self.curl(f"http://127.0.0.1:{port}/metrics")
        self.assertEqual(body.returncode, 0, body.stderr)
        families = {f.name: f for f in text_string_to_metric_families(body.stdout.decode("utf-8"))}
        self.assertLessEqual(REQUIRED, names(families))
        head = self.curl("-I", f"http://127.0.0.1:{port}/metrics?debug=1")
        self.assertIn(b"HTTP/1.1 200 OK", head.stdout)
        self.assertIn(b"text/plain; version=0.0.4", head.stdout)
        ready = self.curl("-i", f"http://127.0.0.1:{port}/ready")
        self.assertTrue(ready.stdout.startswith(b"HTTP/1.1 200 OK"), ready.stdout)
        self.assertTrue(ready.stdout.endswith(b"\r\n\r\nready\n"), ready.stdout)
        self.assertEqual(status_of(exchange(port, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")), 404)
        refused = exchange(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        self.assertEqual(status_of(refused), 405)
        self.assertIn(b"\r\nAllow: GET, HEAD\r\n", refused)
        self.assertEqual(status_of(exchange(port, b"NOT HTTP AT ALL\r\n\r\n")), 400)

    def assert_survives_hostile_clients(self, port, poetry_port):
        # A head past 8 KiB is refused with 431 (and read to the end of the answer, not reset).
        huge = b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
        self.assertEqual(status_of(exchange(port, huge)), 431)
        # A client that stalls half-way through its head holds one slot; the others are served meanwhile.
        stalled = socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT)
        self.addCleanup(stalled.close)
        stalled.sendall(b"GET /metrics HTTP/1.1\r\nHost")
        self.scrape(port)
        # 100 connects at once: past the cap of 64 the server closes them at once; the service keeps serving, and
        # once they go the endpoint answers again.
        crowd = [socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT) for _ in range(100)]
        try:
            closed = 0
            for s in crowd[70:]:
                try:
                    closed += s.recv(1) == b""
                except ConnectionResetError:
                    closed += 1
            self.assertEqual(closed, 30)
            with open(ECSTASY, "rb") as poem:
                self.assertEqual(fetch("127.0.0.1", poetry_port), poem.read())
        finally:
            for s in crowd:
                s.close()
        def scraped():
            try:
                return self.scrape(port)
            except (ConnectionResetError, urllib.error.URLError):
                return None  # the server has not seen every close yet: still at its cap
        wait_for(scraped, what="a scrape once the crowd has gone")

    def test_single_process_serves_metrics_and_ready(self):
        server, port = self.poetry()
        poetry_port = server.listening_port()
        for _ in range(3):
            fetch("127.0.0.1", poetry_port)
        families = self.scrape(port)
        self.assertEqual(families["cppd_workers"].samples[0].value, 1, "a single process is its one worker")
        self.assertEqual(families["cppd_worker_restarts"].samples[0].value, 0)
        self.assertEqual(families["cppd_reloads"].samples[0].value, 0)
        accepted = samples(families)[("cppd_connections_accepted_total", frozenset({("service", "fastpoetry")}))]
        self.assertGreaterEqual(accepted, 3)
        build = families["cppd_build_info"].samples[0]
        self.assertEqual(build.value, 1)
        self.assertRegex(build.labels["version"], r"^\d+\.\d+\.\d+")
        self.assertAlmostEqual(families["cppd_start_time_seconds"].samples[0].value, time.time(), delta=60)
        self.assert_answers(port)
        self.assert_survives_hostile_clients(port, poetry_port)
        self.assertEqual(server.stop(), 0)

    def test_workers_serve_metrics_from_the_supervisor(self):
        server, port = self.poetry("--workers", "2")
        server.wait_for_log(r"all workers serving \(2\)")
        families = self.scrape(port)
        self.assertEqual(families["cppd_workers"].samples[0].value, 2)
        self.assertEqual(families["cppd_reloads"].samples[0].value, 0)
        self.assert_answers(port)
        # A worker's death does not take the endpoint with it: the supervisor serves it.
        def workers():
            return {int(pid) for pid in subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                                       text=True, timeout=DEFAULT_TIMEOUT).stdout.split()}
        before = workers()
        self.assertEqual(len(before), 2)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        self.scrape(port)
        wait_for(lambda: len(workers()) == 2 and victim not in workers(), what="the killed worker's replacement")
        wait_for(lambda: self.scrape(port)["cppd_worker_restarts"].samples[0].value == 1, what="the restart counted")
        wait_for(lambda: self.scrape(port)["cppd_workers"].samples[0].value == 2, what="two live workers again")
        self.assert_survives_hostile_clients(port, server.listening_port())
        self.assertEqual(server.stop(), 0)

    def assert_ready_flips_on_sigterm(self, server, port):
        self.assertEqual(status_of(exchange(port, b"GET /ready HTTP/1.0\r\n\r\n")), 200)
        sent = time.monotonic()
        server.signal(signal.SIGTERM)
        # The stuck service holds the stop for --shutdown-timeout (1 s): the flip must come long before that.
        while True:
            answer = status_of(exchange(port, b"GET /ready HTTP/1.0\r\n\r\n"))
            if answer == 503 or time.monotonic() - sent > 1:
                break
        flipped = time.monotonic() - sent
        self.assertEqual(answer, 503)
        self.assertLess(flipped, 0.1)
        self.assertIsNone(server.proc.poll(), "the stop should still be under way")
        self.assertEqual(status_of(exchange(port, b"GET /metrics HTTP/1.0\r\n\r\n")), 200)
        server.proc.wait(DEFAULT_TIMEOUT)

    def test_ready_answers_503_within_100ms_of_sigterm(self):
        server, port = self.stuck()
        server.wait_for_log(r"Metrics endpoint")
        wait_for(lambda: status_of(exchange(port, b"GET /ready HTTP/1.0\r\n\r\n")) == 200, what="ready")
        self.assert_ready_flips_on_sigterm(server, port)

    def test_ready_answers_503_within_100ms_of_sigterm_with_workers(self):
        server, port = self.stuck("--workers", "2")
        server.wait_for_log(r"all workers serving \(2\)")
        self.assert_ready_flips_on_sigterm(server, port)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges to nobody")
    def test_a_unix_socket_is_0600_and_owned_by_the_user_after_the_drop_unless_mode_is_given(self):
        nobody = pwd.getpwnam("nobody")
        own = self.path("run")
        os.mkdir(own)
        os.chown(own, nobody.pw_uid, nobody.pw_gid)  # the user can remove its socket at exit
        for endpoint_mode, expected in (("", 0o600), (":mode=660", 0o660)):
            path = os.path.join(own, "metrics.sock")
            server = self.start_server(["-u", "nobody", "--metrics", f"unix:{path}{endpoint_mode}", "fastpoetry",
                                        "--port", LOOPBACK, "--poem", ECSTASY],
                                       logfile=f"cppd{endpoint_mode.replace(':', '-')}.log")
            server.wait_for_log(r"Metrics endpoint listening on " + re.escape(path))
            info = os.lstat(path)
            self.assertEqual(info.st_mode & 0o777, expected, endpoint_mode)
            self.assertEqual((info.st_uid, info.st_gid), (nobody.pw_uid, nobody.pw_gid), endpoint_mode)
            with socket.socket(socket.AF_UNIX) as client:
                client.settimeout(DEFAULT_TIMEOUT)
                client.connect(path)
                client.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                answer = b"".join(iter(lambda: client.recv(65536), b""))
            self.assertEqual(status_of(answer), 200)
            self.assertIn(b"\ncppd_workers 1\n", answer)
            self.assertEqual(server.stop(), 0)
            self.assertFalse(os.path.exists(path), endpoint_mode)

    def test_an_unbindable_endpoint_fails_the_start_with_nothing_left(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            busy = taken.getsockname()[1]
            pidfile = self.path("cppd.pid")
            result = run_cppd(["--nodaemon", "--pidfile", pidfile, "--logfile", self.path("cppd.log"),
                               "--metrics", f"tcp:{busy}:interface=127.0.0.1", "fastpoetry", "--port", LOOPBACK,
                               "--poem", ECSTASY], cwd=self.tmp)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"metrics endpoint: listen tcp:{busy}:interface=127.0.0.1", result.stderr)
        self.assertIn("give --metrics another endpoint", result.stderr)
        self.assertFalse(os.path.exists(pidfile))
        bad = run_cppd(["--nodaemon", "--metrics", "tcp:nine", "fastpoetry", "--poem", ECSTASY], cwd=self.tmp)
        self.assertEqual(bad.returncode, 64, bad.stderr)
        self.assertIn("option --metrics: invalid endpoint 'tcp:nine'", bad.stderr)

    def test_a_deployment_file_sets_metrics_in_its_cppd_table(self):
        config = self.path("poems.toml")
        self.write("poems.toml", f"""[cppd]
metrics = "{LOOPBACK}"

[[service]]
plugin = "fastpoetry"
name = "ecstasy"
port = "{LOOPBACK}"
poem = "{ECSTASY}"
""")
        server = self.start_server(["--config", config])
        port = int(server.wait_for_log(METRICS_LINE).group(1))
        families = self.scrape(port)
        services = {s.labels.get("service") for s in families["cppd_connections_active"].samples}
        self.assertEqual(services, {"ecstasy"})
        self.assertEqual(server.stop(), 0)
        self.write("bad.toml", f"""[cppd]
metrics = "tcp:nine"

[[service]]
plugin = "fastpoetry"
port = "{LOOPBACK}"
poem = "{ECSTASY}"
""")
        bad = run_cppd(["--nodaemon", "--pidfile=", "--config", self.path("bad.toml")], cwd=self.tmp)
        self.assertIn(bad.returncode, (64, 78), bad.stderr)
        self.assertIn("invalid endpoint 'tcp:nine'", bad.stderr)
