"""fastpoetry end to end: the real cppd binary serving real loopback clients.

Every server listens on port 0 (read back from the log) or on a socket in the test's own directory; every load
loop is bounded both in count and in time.
"""
import concurrent.futures
import os
import re
import resource
import signal
import socket
import subprocess
import time
import unittest

from cppdtest import (CPPD, DEFAULT_TIMEOUT, POETRY_DIR, TempDirTestCase, fetch, read_text, run_cppd, wait_for)

ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
LOOPBACK = "tcp:0:interface=127.0.0.1"


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def fetch_partial(address, timeout=DEFAULT_TIMEOUT):
    """Connects and reads to EOF; returns (bytes received, error or None) so a cut-short read is visible."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    chunks = []
    try:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(address)
            while True:
                data = s.recv(1 << 20)
                if not data:
                    return b"".join(chunks), None
                chunks.append(data)
    except OSError as e:
        return b"".join(chunks), e


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stalled_client(port):
    """A connected client that never reads: the server's writes to it back up."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(DEFAULT_TIMEOUT)
    s.connect(("127.0.0.1", port))
    return s


class FastPoetryTest(TempDirTestCase):

    def start_poetry(self, *args, poem=ECSTASY, env=None):
        return self.start_server(["fastpoetry", "--poem", poem, *args], env=env)

    def big_poem(self, mib):
        line = b"And feed deep, deep upon her peerless eyes.\n"
        size = mib << 20
        return self.write(f"poem-{mib}MiB.txt", (line * (size // len(line) + 1))[:size])

    def test_many_concurrent_clients_each_receive_exactly_the_poem(self):
        server = self.start_poetry("--port", LOOPBACK)
        port = server.listening_port()
        poem = read_bytes(ECSTASY)
        with concurrent.futures.ThreadPoolExecutor(max_workers=32) as pool:
            results = list(pool.map(lambda _: fetch("127.0.0.1", port), range(300)))
        self.assertEqual(len(results), 300)
        self.assertTrue(all(r == poem for r in results), "some client got other bytes than the poem")
        log = server.wait_for_log(r"sending 1404 bytes of poetry to IPv4Address\(TCP, '127\.0\.0\.1', \d+\)")
        self.assertIsNotNone(log)
        self.assertRegex(server.log(), rf"\[-\] loaded a poem from: {re.escape(ECSTASY)}\n")
        self.assertRegex(server.log(), r"\[PoetryProtocol,0,127\.0\.0\.1\] sending 1404 bytes of poetry to "
                                       r"IPv4Address\(TCP, '127\.0\.0\.1', \d+\)")
        self.assertRegex(server.log(), rf"\[-\] PoetryFactory starting on {port}\n")

    def test_a_bare_port_number_listens_on_iface(self):
        server = self.start_poetry("--port", "0", "--iface", "127.0.0.1")
        port = server.listening_port()
        self.assertEqual(fetch("127.0.0.1", port), read_bytes(ECSTASY))

    def test_a_unix_socket_endpoint_serves_the_poem_and_is_removed_on_stop(self):
        path = self.path("poetry.sock")
        server = self.start_poetry("--port", f"unix:{path}:mode=600")
        server.wait_for_log(r"PoetryFactory starting on '" + re.escape(path) + "'")
        data, error = fetch_partial(path)
        self.assertIsNone(error)
        self.assertEqual(data, read_bytes(ECSTASY))
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        server.stop()
        self.assertFalse(os.path.exists(path))
        self.assertIn(f"(UNIX Port {path} Closed)", server.log())

    def test_stop_under_load_truncates_no_poem(self):
        poem_path = self.big_poem(1)
        poem = read_bytes(poem_path)
        server = self.start_poetry("--port", LOOPBACK, poem=poem_path)
        port = server.listening_port()
        deadline = time.monotonic() + 15
        outcomes = []

        def client():
            # Fetches until the server is gone, at most 200 times or 15 seconds.
            for _ in range(200):
                if time.monotonic() > deadline:
                    return
                data, error = fetch_partial(("127.0.0.1", port))
                outcomes.append((len(data), error))
                if error is not None and not data:
                    return

        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            futures = [pool.submit(client) for _ in range(16)]
            wait_for(lambda: len(outcomes) >= 32, what="32 poems served before the stop")
            server.stop(signal.SIGTERM)
            for f in futures:
                f.result(timeout=DEFAULT_TIMEOUT)
        complete = [n for n, error in outcomes if n == len(poem) and error is None]
        cut = [(n, error) for n, error in outcomes if n not in (0, len(poem)) or (n == len(poem) and error)]
        self.assertGreaterEqual(len(complete), 32)
        self.assertEqual(cut, [], "a stop cut a poem short")
        self.assertIn(f"(TCP Port {port} Closed)", server.log())

    def test_running_out_of_descriptors_pauses_accepting_without_spinning_and_recovers(self):
        poem_path = self.big_poem(16)
        limit = 48

        def low_fd_limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        full = ["--nodaemon", "--pidfile=", "--logfile", self.path("cppd.log"), "fastpoetry", "--poem", poem_path,
                "--port", LOOPBACK]
        proc = subprocess.Popen([CPPD, *full], cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, preexec_fn=low_fd_limit)
        try:
            log = self.path("cppd.log")
            port = int(wait_for(lambda: re.search(r"starting on (\d+)", read_text(log)), what="the port").group(1))
            stalled = [stalled_client(port) for _ in range(limit + 8)]  # more than the server can hold
            wait_for(lambda: "pausing accepts" in read_text(log), what="the EMFILE log line")
            before = cpu_seconds(proc.pid)
            started = time.monotonic()
            # While descriptors are short, a paused server costs next to no CPU (no busy accept loop).
            wait_for(lambda: time.monotonic() - started >= 1.0, interval=0.1, what="a one second window")
            self.assertLess(cpu_seconds(proc.pid) - before, 0.3)
            self.assertIsNone(proc.poll(), "cppd died when it ran out of descriptors")
            for s in stalled:
                s.close()
            data, error = fetch_partial(("127.0.0.1", port))
            self.assertIsNone(error)
            self.assertEqual(len(data), 16 << 20)
            text = read_text(log)
            self.assertEqual(text.count("pausing accepts"), 1, text[-2000:])
            self.assertIn("too many open files (EMFILE)", text)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(DEFAULT_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def test_stalled_readers_neither_block_other_clients_nor_copy_the_poem(self):
        poem_path = self.big_poem(64)
        server = self.start_poetry("--port", LOOPBACK, poem=poem_path)
        port = server.listening_port()
        server.wait_for_log("loaded a poem from")
        baseline = rss_kib(server.pid)  # the poem itself, plus whatever a sanitizer build adds
        stalled = [stalled_client(port) for _ in range(8)]
        try:
            wait_for(lambda: server.log().count("sending 67108864 bytes") >= 8, what="8 stalled connections")
            data, error = fetch_partial(("127.0.0.1", port), timeout=10)
            self.assertIsNone(error)
            self.assertEqual(len(data), 64 << 20)
            # One copy of the poem, shared by every connection (8 more copies would be 512 MiB more).
            self.assertLess(rss_kib(server.pid) - baseline, 24 * 1024)
        finally:
            for s in stalled:
                s.close()

    def test_a_missing_poem_is_a_clear_startup_error(self):
        missing = self.path("missing.txt")
        for daemon in (False, True):
            with self.subTest(daemon=daemon):
                args = [*([] if daemon else ["--nodaemon"]), "--pidfile=", "--logfile", self.path("start.log"),
                        "fastpoetry", "--poem", missing, "--port", LOOPBACK]
                result = run_cppd(args, cwd=self.tmp)
                self.assertNotEqual(result.returncode, 0)
                shown = result.stdout + result.stderr + read_text(self.path("start.log"))
                self.assertIn(f"open poem {missing}: No such file or directory", shown)

    def test_a_malformed_port_is_a_usage_error_naming_it(self):
        result = run_cppd(["--nodaemon", "--pidfile=", "fastpoetry", "--poem", ECSTASY, "--port", "tcp:abc"],
                          cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("invalid endpoint 'tcp:abc': port 'abc' is not a number 0-65535", result.stderr)

    def test_a_port_in_use_fails_the_start_naming_the_endpoint(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            result = run_cppd(["--nodaemon", "--pidfile=", "--logfile", self.path("start.log"), "fastpoetry",
                               "--poem", ECSTASY, "--port", f"tcp:{port}:interface=127.0.0.1"], cwd=self.tmp)
        self.assertNotEqual(result.returncode, 0)
        shown = result.stdout + result.stderr + read_text(self.path("start.log"))
        self.assertIn(f"listen tcp:{port}:interface=127.0.0.1: address already in use (EADDRINUSE)", shown)


if __name__ == "__main__":
    unittest.main()
