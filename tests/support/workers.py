"""Helpers for the --workers integration tests (workers_*_test.py): the supervisor's log read against /proc,
clients that record which worker served them, bounded load loops, and a test case that starts N workers.

Workers are found through the supervisor's log ("worker 2 (PID 1234) serving") and checked to be its children
before a test signals them; clients find the worker that served them through the log line of their connection,
which names the worker (`[PoetryProtocol,w2,3,127.0.0.1] sending ... ('127.0.0.1', PORT)`) and their own port.
"""
import hashlib
import os
import re
import shutil
import signal
import socket
import threading
import time

from cppdtest import DEFAULT_TIMEOUT, POETRY_DIR, TempDirTestCase, children_of, process_exists, wait_for

ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
LOOPBACK = "tcp:0:interface=127.0.0.1"
TEST_PLUGIN_DIR = os.environ.get("CPPD_TEST_PLUGIN_DIR", "")
MIB = 1 << 20

SUPERVISOR_LINE = re.compile(r"^\S+ \[supervisor\] worker (\d+) \(PID (\d+)\) (.+)$", re.M)
SENDING_LINE = re.compile(r"^\S+ \[PoetryProtocol,w(\d+),\d+,[^\]]*\] sending (\d+) bytes of poetry to "
                          r"IPv4Address\(TCP, '127\.0\.0\.1', (\d+)\)$", re.M)
# A whole log line: timestamp, system, text. A line split by a rotation or by two writers fails it.
WHOLE_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[[^\]\n]+\] \S.*$")
GONE = ("exited with status", "killed by ")


def parent_pid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def workers_in_log(text, system="PoetryProtocol"):
    """The ids of the workers whose connections of system ("FtpSession", "PoetryProtocol") the log text shows."""
    return {int(w) for w in re.findall(rf"\[{system},w(\d+),", text)}


class Workers:
    """What the supervisor's log says about its workers, checked against /proc: only live children count."""

    def __init__(self, server):
        self.server = server

    def events(self):
        """[(worker id, PID, what)] in log order."""
        return [(int(m.group(1)), int(m.group(2)), m.group(3)) for m in SUPERVISOR_LINE.finditer(self.server.log())]

    def serving(self):
        """{worker id: PID} of the workers that said they serve, have not been reported gone, and are alive
        children of the supervisor (so a test never signals anything else)."""
        state = {}
        for wid, pid, what in self.events():
            if what == "serving":
                state[pid] = wid
            elif what.startswith(GONE):
                state.pop(pid, None)
        return {wid: pid for pid, wid in state.items()
                if process_exists(pid) and parent_pid(pid) == self.server.pid}

    def wait_serving(self, count, exclude=(), timeout=DEFAULT_TIMEOUT):
        def ready():
            live = {w: p for w, p in self.serving().items() if p not in exclude}
            return live if len(live) >= count else None
        return wait_for(ready, timeout, what=f"{count} workers serving; log:\n{self.server.log()[-3000:]}")

    def children(self):
        """Every live child of the supervisor, found in /proc (for 'no worker left' checks)."""
        return [pid for pid in children_of(self.server.pid) if process_exists(pid)]


class Client:
    """One connection: when it started and ended, its local port, what it received, and how it failed."""

    def __init__(self, port, rcvbuf=None, timeout=30, small_mss=False):
        self.local_port, self.received, self.error = None, 0, None
        self.digest = hashlib.sha256()
        self.started = time.monotonic()
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                if rcvbuf:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                if small_mss:
                    # The kernel sizes the server's send buffer from the MSS: a small one keeps the server writing
                    # (see shutdown_stress) instead of handing the whole poem to the kernel at once.
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
                s.settimeout(timeout)
                s.bind(("127.0.0.1", 0))
                self.local_port = s.getsockname()[1]
                s.connect(("127.0.0.1", port))
                while True:
                    data = s.recv(MIB)
                    if not data:
                        break
                    self.received += len(data)
                    self.digest.update(data)
        except OSError as e:
            self.error = e
        self.ended = time.monotonic()

    def whole(self, digest):
        return self.error is None and self.digest.hexdigest() == digest


class LoadLoop:
    """`threads` clients fetching in a loop until stop(), `count` fetches or `seconds` (all three bound it)."""

    def __init__(self, port, threads=8, count=20000, seconds=60, rcvbuf=None, small_mss=False):
        self.port, self.rcvbuf, self.small_mss = port, rcvbuf, small_mss
        self.started = time.monotonic()
        self.count, self.deadline = count, self.started + seconds
        self.clients, self.claimed, self.lock, self.halt = [], 0, threading.Lock(), threading.Event()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def claim(self):
        with self.lock:
            if self.halt.is_set() or time.monotonic() > self.deadline or self.claimed >= self.count:
                return False
            self.claimed += 1
            return True

    def run(self):
        while self.claim():
            client = Client(self.port, self.rcvbuf, small_mss=self.small_mss)
            with self.lock:
                self.clients.append(client)

    def stop(self, timeout=60):
        self.halt.set()
        for t in self.threads:
            t.join(timeout)
        if any(t.is_alive() for t in self.threads):
            raise AssertionError(f"load threads still running {timeout}s after stop")
        return self.clients


class WorkersTestCase(TempDirTestCase):

    def tearDown(self):
        for pid in getattr(self, "daemons", []):
            if process_exists(pid):
                os.kill(pid, signal.SIGKILL)
        super().tearDown()

    def start_workers(self, count, *plugin_args, runner=(), poem=ECSTASY):
        args = ["--workers", str(count), *runner]
        args += list(plugin_args) or ["fastpoetry", "--port", LOOPBACK, "--poem", poem]
        server = self.start_server(args)
        number = r"[1-9]\d*" if count == "auto" else str(count)
        server.wait_for_log(rf"\[supervisor\] all workers serving \({number}\)$")
        return server, Workers(server)

    def stuck_plugin_args(self, *args):
        if not TEST_PLUGIN_DIR or not os.path.exists(os.path.join(TEST_PLUGIN_DIR, "stuck.so")):
            self.skipTest("the stuck test plugin is not built (target test_plugin_stuck)")
        plugins = self.path("plugins")
        os.makedirs(plugins, exist_ok=True)
        shutil.copy(os.path.join(TEST_PLUGIN_DIR, "stuck.so"), plugins)
        return ["--plugin-path", plugins, "stuck", *args]

    def served_by(self, text):
        """{client port: {worker ids}} from the connection lines of the log text (a set: over thousands of
        connections the kernel hands a client port out again)."""
        served = {}
        for m in SENDING_LINE.finditer(text):
            served.setdefault(int(m.group(3)), set()).add(int(m.group(1)))
        return served

    def accepted_per_worker(self, text):
        counts = {}
        for m in SENDING_LINE.finditer(text):
            counts[int(m.group(1))] = counts.get(int(m.group(1)), 0) + 1
        return dict(sorted(counts.items()))

    def assert_stops_cleanly(self, server, timeout=DEFAULT_TIMEOUT, signalled=False):
        """SIGTERM (unless the test sent it: a second one forces the exit), then exit 0; a failure shows what the
        supervisor said."""
        if signalled:
            try:
                code = server.proc.wait(timeout)
            finally:
                server.kill()  # only if still running; closes its pipes
        else:
            code = server.stop(timeout=timeout)
        lines = [line for line in server.log().splitlines() if "[supervisor]" in line or "[-]" in line]
        self.assertEqual(code, 0, "\n".join(lines[-40:]))

    def assert_no_worker_left(self, workers, timeout=DEFAULT_TIMEOUT):
        wait_for(lambda: not workers.children(), timeout, what="every worker to be gone")
