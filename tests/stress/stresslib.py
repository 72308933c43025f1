"""Shared parts of the stress and fault suite (tests/stress/run): the real cppd binary, loopback clients, /proc
sampling and the bookkeeping every scenario reports.

Rules every scenario follows: each is bounded in count and in time (the runner also arms a hard alarm per
scenario), talks to 127.0.0.1 only, ends only processes it started (by PID, through Processes), and never sleeps to
synchronise: it polls for the condition with a deadline (wait_for).
"""
import dataclasses
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
# wait_for and read_text come from the integration tests' helpers (tests/support), whoever imports this module.
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import cppdtest  # noqa: E402

POETRY_DIR = os.path.join(SOURCE_DIR, "poetry")
ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
LOOPBACK = "tcp:0:interface=127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1 << 20


class ScenarioFailed(AssertionError):
    """A check inside a scenario failed; the message says what was expected and what happened."""


class ScenarioSkipped(Exception):
    """A scenario that cannot run here (a feature this cppd lacks); the message says why. Reported as SKIPPED,
    never as a pass."""


@dataclasses.dataclass
class Result:
    scenario: str
    tried: str
    lost: str            # "nothing" when the scenario passed
    seconds: float = 0.0
    ok: bool = True
    detail: str = ""     # measurements worth keeping (printed under the table)
    skipped: bool = False  # ok stays True: a skip fails nothing, but it is shown as SKIPPED, not as a pass


@dataclasses.dataclass
class Context:
    cppd: str                 # the cppd binary
    test_plugin_dir: str      # build/tests/plugins/out (stuck.so, crash.so, throwing.so)
    workdir: str              # a fresh directory for this scenario, removed afterwards
    quick: bool
    soak_seconds: float
    processes: "Processes" = None

    def path(self, *parts):
        return os.path.join(self.workdir, *parts)

    def rounds(self, full, quick):
        return quick if self.quick else full


def check(condition, message):
    if not condition:
        raise ScenarioFailed(message)


def wait_for(predicate, timeout, what, interval=0.01):
    """Polls predicate until it returns a truthy value; returns it, or raises ScenarioFailed after timeout s.
    cppdtest.wait_for with the scenarios' argument order; its time-out (an AssertionError) becomes ScenarioFailed,
    which is what the runner reports as a failed scenario. A ScenarioFailed from predicate passes through as is."""
    try:
        return cppdtest.wait_for(predicate, timeout, interval=interval, what=what)
    except ScenarioFailed:
        raise
    except AssertionError as e:
        raise ScenarioFailed(str(e)) from None


def read_text(path):
    """cppdtest.read_text, and "" for a directory too."""
    try:
        return cppdtest.read_text(path)
    except IsADirectoryError:
        return ""


def write_poem(path, size):
    return cppdtest.write_poem(path, size, b"And feed deep, deep upon her peerless eyes.\n")


# Whether pid names a live process (a zombie does not count): the integration tests' own check.
process_alive = cppdtest.process_exists


def status_kib(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _socket_inodes(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def tcp_sockets(pid, listening):
    """PID's IPv4 TCP sockets: the listening ones, or all the others (connections in any state)."""
    inodes = _socket_inodes(pid)
    rows = [line.split() for line in read_text("/proc/net/tcp").splitlines()[1:]]
    return [r for r in rows if r[9] in inodes and (r[3] == "0A") == listening]


def listening_port(pid, timeout=20):
    """The port of PID's (first) listening TCP socket, for when the log cannot tell (/dev/full as the log)."""
    rows = wait_for(lambda: tcp_sockets(pid, listening=True), timeout, f"a listening socket of PID {pid}")
    return int(rows[0][1].split(":")[1], 16)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class Processes:
    """Every process a scenario starts (children and daemons it learns the PID of); cleanup() ends the ones still
    alive, by PID, and reaps the children."""

    def __init__(self):
        self.children = []
        self.daemons = set()

    def popen(self, argv, **kwargs):
        proc = subprocess.Popen(argv, **kwargs)
        self.children.append(proc)
        return proc

    def run(self, argv, timeout, **kwargs):
        """subprocess.run with a hard timeout; on timeout the child is killed (by PID) and ScenarioFailed raised."""
        proc = self.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          stdin=subprocess.DEVNULL, **kwargs)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise ScenarioFailed(f"{' '.join(argv[:3])}... did not finish within {timeout:g}s")
        return subprocess.CompletedProcess(argv, proc.returncode, out, err)

    def adopt(self, pid):
        self.daemons.add(pid)

    def cleanup(self):
        for pid in sorted(self.daemons):
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
        for proc in self.children:
            if proc.poll() is None:
                proc.kill()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream and not stream.closed:
                    stream.close()
        for pid in sorted(self.daemons):
            try:
                wait_for(lambda: not process_alive(pid), 10, f"PID {pid} to end")
            except ScenarioFailed:
                pass
        self.children.clear()
        self.daemons.clear()


class Server:
    """cppd in the foreground (--nodaemon) serving one plugin; its stderr goes to a file the scenario can read."""

    def __init__(self, ctx, plugin_args, logfile=None, pidfile="", runner_args=(), preexec_fn=None, name="cppd"):
        self.ctx = ctx
        self.logfile = logfile or ctx.path(f"{name}.log")
        self.stderr_path = ctx.path(f"{name}.stderr")
        argv = [ctx.cppd, "--nodaemon", f"--pidfile={pidfile}", "--logfile", self.logfile, *runner_args,
                *plugin_args]
        with open(self.stderr_path, "wb") as err:
            self.proc = ctx.processes.popen(argv, cwd=ctx.workdir, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=err, preexec_fn=preexec_fn)
        self.pid = self.proc.pid

    def log(self):
        # /dev/full or /dev/zero as the log would read forever: only regular files are read back.
        return read_text(self.logfile) if os.path.isfile(self.logfile) else ""

    def stderr(self):
        return read_text(self.stderr_path)

    def wait_for_log(self, pattern, timeout=20, text=None):
        regex = re.compile(pattern, re.M)

        def found():
            if self.proc.poll() is not None:
                raise ScenarioFailed(f"cppd exited with {self.proc.returncode} before {pattern!r}; stderr: "
                                     f"{self.stderr()[-500:]!r}; log tail: {self.log()[-800:]!r}")
            return regex.search(text() if text else self.log())
        return wait_for(found, timeout, f"{pattern!r} in {self.logfile}")

    def port(self, timeout=20):
        return int(self.wait_for_log(r"starting on (\d+)\b", timeout).group(1))

    def alive(self):
        return self.proc.poll() is None

    def stop(self, signum=signal.SIGTERM, timeout=40):
        """Sends signum and waits for the exit; returns (exit status, seconds it took)."""
        started = time.monotonic()
        if self.proc.poll() is None:
            os.kill(self.pid, signum)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise ScenarioFailed(f"cppd (PID {self.pid}) did not exit within {timeout:g}s of signal {signum}")
        return code, time.monotonic() - started


def poetry_args(poem, port=LOOPBACK):
    return ["fastpoetry", "--port", port, "--poem", poem]


def fetch(port, timeout=20, rcvbuf=None):
    """Connects to 127.0.0.1:port and reads to EOF; returns (bytes, error or None) so a cut-short read shows."""
    chunks = []
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            s.settimeout(timeout)
            s.connect(("127.0.0.1", port))
            while True:
                data = s.recv(MIB)
                if not data:
                    return b"".join(chunks), None
                chunks.append(data)
    except OSError as e:
        return b"".join(chunks), e


def stalled_client(port, timeout=20):
    """A connected client that never reads. On loopback the kernel sizes the server's send buffer from the MSS
    (64 KiB segments x the initial window: about 2.5 MiB), which would swallow a whole poem; a 1 KiB MSS and a
    4 KiB receive buffer make the server's writes back up after a few KiB."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    return s


class Load:
    """Threads fetching the poem in a loop until stop() or until `count` fetches or `seconds` have passed (all three
    bound it). Counts complete fetches, short ones (cut) and errors; `pause` seconds between fetches per thread
    caps the rate so a long soak does not take the shared CPUs from everyone else."""

    def __init__(self, port, poem_len, threads=4, count=100000, seconds=60, pause=0.0):
        self.port, self.poem_len, self.pause = port, poem_len, pause
        self.count, self.deadline = count, time.monotonic() + seconds
        self.lock = threading.Lock()
        self.started = self.complete = self.cut = self.errors = 0
        self.first_error = None
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()

    def _claim(self):
        with self.lock:
            if self._stop.is_set() or self.started >= self.count or time.monotonic() > self.deadline:
                return False
            self.started += 1
            return True

    def _run(self):
        while self._claim():
            data, error = fetch(self.port, timeout=20)
            with self.lock:
                if error is None and len(data) == self.poem_len:
                    self.complete += 1
                elif error is None or data:
                    self.cut += 1
                    self.first_error = self.first_error or f"{len(data)} of {self.poem_len} bytes, {error}"
                else:
                    self.errors += 1
                    self.first_error = self.first_error or str(error)
            if self.pause:
                self._stop.wait(self.pause)

    def finished(self):
        return self.complete + self.cut + self.errors

    def stop(self, timeout=30):
        self._stop.set()
        for t in self.threads:
            t.join(max(0.0, timeout))
        check(not any(t.is_alive() for t in self.threads), f"load threads still running {timeout}s after stop")
        return self

    def lost(self):
        return self.cut + self.errors


def count_lines(text, needle="sending "):
    return sum(1 for line in text.splitlines() if needle in line)
