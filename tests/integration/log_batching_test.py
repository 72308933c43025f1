"""The log's batching end to end: the real cppd binary, real loopback connections, real files.

The lines one loop iteration logs leave in one write. These tests count every line against the connections made
(none lost, duplicated, reordered or split) across size rotation, SIGUSR1, a logrotate-style rename + SIGHUP and
SIGTERM, check that a burst costs a handful of write(2) calls rather than one per line, and that a plugin that
crashes right after logging (SIGSEGV, abort) still leaves those lines in the file. The test plugin "logburst"
(tests/plugins/log_burst_plugin.cpp) numbers its connections and their lines.
"""
import concurrent.futures
import glob
import os
import re
import shutil
import signal
import socket
import unittest

from cppdtest import DEFAULT_TIMEOUT, TempDirTestCase, read_text, wait_for

TEST_PLUGIN_DIR = os.environ.get("CPPD_TEST_PLUGIN_DIR", "")
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[[^\]\n]*\] [^\n]*$")
BURST = re.compile(r"\] burst (\d+) line (\d+) of (\d+)$")


def ask(port, command):
    """Sends one command, reads the answer to EOF; returns the connection number cppd gave it."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT) as s:
        s.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            data = s.recv(4096)
            if not data:
                break
            chunks.append(data)
    return int(b"".join(chunks))


def syscalls_written(pid):
    """write(2)-family calls the process made so far (syscw in /proc/PID/io)."""
    for line in read_text(f"/proc/{pid}/io").splitlines():
        if line.startswith("syscw:"):
            return int(line.split()[1])
    raise AssertionError(f"no syscw in /proc/{pid}/io")


class LogBatchingTest(TempDirTestCase):
    def start_burst(self, *runner_args, env=None):
        if not TEST_PLUGIN_DIR or not os.path.exists(os.path.join(TEST_PLUGIN_DIR, "logburst.so")):
            self.skipTest("the logburst test plugin is not built (target test_plugin_logburst)")
        plugins = self.path("plugins")
        os.makedirs(plugins, exist_ok=True)
        shutil.copy(os.path.join(TEST_PLUGIN_DIR, "logburst.so"), plugins)
        server = self.start_server(["--plugin-path", plugins, *runner_args, "logburst"], env=env)
        return server, server.listening_port()

    def log_files(self):
        return [p for p in glob.glob(self.path("cppd.log*"))]

    def burst_lines(self):
        """Every 'burst' line of every log file as (connection, line, of), each file's lines in file order, the
        files in the order of their first line; asserts that every line of every file is one whole log line."""
        files = []
        for path in self.log_files():
            text = read_text(path)
            self.assertTrue(text == "" or text.endswith("\n"), f"{path} ends inside a line: {text[-200:]!r}")
            entries = []
            for line in text.splitlines():
                self.assertRegex(line, LINE, f"a line of {path} is not one whole log line")
                m = BURST.search(line)
                if m:
                    entries.append(tuple(int(g) for g in m.groups()))
            if entries:
                files.append(entries)
        files.sort(key=lambda entries: entries[0])
        return [entry for entries in files for entry in entries]

    def test_every_line_is_written_once_and_in_order_across_rotation_reopen_and_sigterm(self):
        server, port = self.start_burst("--logfile-max-size", "8k", "--logfile-keep", "100000")
        lines_each, rounds, per_round = 20, 6, 60
        answered = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            for r in range(rounds):
                answered += pool.map(lambda _: ask(port, f"lines {lines_each}"), range(per_round))
                if r % 3 == 0:
                    server.signal(signal.SIGUSR1)  # rotate now, wherever the size is
                elif r % 3 == 1:  # what logrotate does: rename, then SIGHUP
                    os.rename(self.path("cppd.log"), self.path(f"cppd.log.moved-{r}"))
                    server.signal(signal.SIGHUP)
                    wait_for(lambda: os.path.exists(self.path("cppd.log")), what="the log reopened after SIGHUP")
        self.assertEqual(server.stop(), 0)
        self.assertEqual(sorted(answered), list(range(1, rounds * per_round + 1)))
        got = self.burst_lines()
        expected = [(c, k, lines_each) for c in range(1, rounds * per_round + 1) for k in range(1, lines_each + 1)]
        self.assertEqual(len(got), len(expected), "lines lost or written twice")
        self.assertEqual(got, expected, "lines reordered")
        self.assertGreater(len(self.log_files()), 10, "the test meant to rotate many times")
        self.assertIn("Server Shut Down.", read_text(self.path("cppd.log")))

    def test_the_lines_of_one_callback_leave_in_a_few_writes_not_one_per_line(self):
        server, port = self.start_burst()
        connections, lines_each = 30, 50
        ask(port, "lines 1")  # warm: the first connection's own start-up writes are not counted
        before = syscalls_written(server.pid)
        for _ in range(connections):
            ask(port, f"lines {lines_each}")
        written = syscalls_written(server.pid) - before
        # Per connection: the answer's write and one log write per loop iteration that logged, not 50.
        self.assertLess(written, connections * 5, f"{written} write calls for {connections * lines_each} lines")
        wait_for(lambda: f"burst {connections + 1} line {lines_each} of {lines_each}" in server.log(),
                 what="the last burst in the log")
        self.assertEqual(server.stop(), 0)

    def crash(self, how, signum):
        # A sanitizer build's own SIGSEGV handler would report and exit 1: let the signal take its default action.
        asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""), "handle_segv=0"]))
        server, port = self.start_burst(env=dict(os.environ, ASAN_OPTIONS=asan))
        first = ask(port, "lines 5")
        with socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT) as s:
            s.sendall(f"{how} 40\n".encode())
            server.proc.wait(DEFAULT_TIMEOUT)
        self.assertEqual(server.proc.returncode, -signum, "cppd did not die of the signal")
        crashed = first + 1
        got = self.burst_lines()
        self.assertEqual(got, [(first, k, 5) for k in range(1, 6)] + [(crashed, k, 40) for k in range(1, 41)])
        log = read_text(self.path("cppd.log"))
        self.assertTrue(log.endswith(f"] burst {crashed} crashing with {how}\n"), log[-300:])

    def test_a_plugin_that_segfaults_after_logging_leaves_those_lines_in_the_log(self):
        self.crash("segv", signal.SIGSEGV)

    def test_a_plugin_that_aborts_after_logging_leaves_those_lines_in_the_log(self):
        self.crash("abort", signal.SIGABRT)


if __name__ == "__main__":
    unittest.main()
