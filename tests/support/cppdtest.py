"""Shared helpers for cppd's integration tests: the real binary, per-test temp dirs, polling with deadlines.

Rules every integration test follows: run processes with a hard timeout, end only processes the test started
(by PID), use 127.0.0.1/::1 with port 0 read back from the log, and never sleep to synchronise: poll for the
condition with a deadline (wait_for).
"""
import os
import re
import shutil
import signal
import signal as signal_module  # Server.signal (a method) shadows the module inside the class body
import socket
import subprocess
import tempfile
import time
import unittest

CPPD = os.environ.get("CPPD_BIN", "cppd")
BUILD_DIR = os.environ.get("CPPD_BUILD_DIR", "")
SOURCE_DIR = os.environ.get("CPPD_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
PLUGIN_DIR = os.environ.get("CPPD_PLUGIN_DIR", "")
POETRY_DIR = os.path.join(SOURCE_DIR, "poetry")
# Slow runs (cppd under valgrind: tests/valgrind/run) scale every deadline with CPPD_TEST_TIMEOUT_SCALE.
DEFAULT_TIMEOUT = 20.0 * float(os.environ.get("CPPD_TEST_TIMEOUT_SCALE", "1"))


def wait_for(predicate, timeout=DEFAULT_TIMEOUT, interval=0.01, what="condition"):
    """Polls predicate until it returns a truthy value; returns it, or fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


STRACE = shutil.which("strace")


def strace_works():
    """True when strace is installed and may trace here (a container may forbid ptrace)."""
    if STRACE is None:
        return False
    return subprocess.run([STRACE, "-o", "/dev/null", "true"], capture_output=True, timeout=30).returncode == 0


def without_leak_check(env):
    """env for a process traced with ptrace: LeakSanitizer (a sanitizer build) cannot run under it."""
    return dict(env, ASAN_OPTIONS=":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"])))


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def children_of(pid):
    """The PIDs of pid's children (from /proc: what the kernel says, not a log)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def write_poem(path, size, line=b"Thou still unravish'd bride of quietness,\n"):
    """Writes size bytes of line repeated to path; returns them."""
    data = (line * (size // len(line) + 1))[:size]
    with open(path, "wb") as f:
        f.write(data)
    return data


def read_text(path):
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_for_log(path, pattern, timeout=DEFAULT_TIMEOUT):
    """Waits until the file at path has a line matching pattern; returns the re.Match."""
    regex = re.compile(pattern, re.M)
    return wait_for(lambda: regex.search(read_text(path)), timeout, what=f"{pattern!r} in {path}")


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); look at its state. The main thread of a killed multi-threaded process is a
    # zombie while its other threads still exit, and they hold its descriptors (and so its pidfile lock) until
    # the last one is gone: the process is dead once its zombie main thread is the only task left.
    try:
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split(") ", 1)[1][0] != "Z":
                return True
        return len(os.listdir(f"/proc/{pid}/task")) > 1
    except (FileNotFoundError, IndexError):
        return False


def run_cppd(args, timeout=DEFAULT_TIMEOUT, cwd=None, env=None, input=None):
    """Runs cppd to completion with a hard timeout; returns the CompletedProcess (text mode)."""
    return subprocess.run([CPPD, *args], cwd=cwd, env=env, input=input, capture_output=True, text=True,
                          timeout=timeout)


class Server:
    """A cppd started in the foreground (--nodaemon) by a test; stopped by PID when the test ends."""

    def __init__(self, args, cwd, env=None, logfile="cppd.log", preexec_fn=None):
        self.logfile = os.path.join(cwd, logfile)
        self.cwd = cwd
        full = ["--nodaemon", "--pidfile=", "--logfile", self.logfile, *args]
        self.proc = subprocess.Popen([CPPD, *full], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=preexec_fn)

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        """The whole log, oldest first: the files size rotation made (LOG.N ... LOG.1), then LOG. A test under load
        writes past the 1 MB default, and a line it waits for may have moved into LOG.1 by the time it looks."""
        rotated = []
        while os.path.exists(f"{self.logfile}.{len(rotated) + 1}"):
            rotated.append(f"{self.logfile}.{len(rotated) + 1}")
        return "".join(read_text(path) for path in reversed(rotated)) + read_text(self.logfile)

    def wait_for_log(self, pattern, timeout=DEFAULT_TIMEOUT):
        regex = re.compile(pattern, re.M)

        def check():
            if self.proc.poll() is not None:
                out, err = self.proc.communicate()
                raise AssertionError(f"cppd exited with {self.proc.returncode} before {pattern!r}:\n"
                                     f"stdout: {out}\nstderr: {err}\nlog:\n{self.log()}")
            return regex.search(self.log())
        return wait_for(check, timeout, what=f"{pattern!r} in the log")

    def listening_port(self, timeout=DEFAULT_TIMEOUT):
        """The port read back from the 'starting on' log line (servers are started on port 0)."""
        m = self.wait_for_log(r"starting on (?:\S*:)?(\d+)\b", timeout)
        return int(m.group(1))

    def signal(self, signum):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signum)

    def stop(self, signum=signal_module.SIGTERM, timeout=DEFAULT_TIMEOUT):
        """Sends signum and waits for the exit; returns the exit status."""
        self.signal(signum)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"cppd (PID {self.proc.pid}) did not stop within {timeout}s")
        finally:
            self.proc.stdout.close()
            self.proc.stderr.close()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream and not stream.closed:
                stream.close()


def fetch(host, port, timeout=DEFAULT_TIMEOUT, request=None):
    """Connects, sends request (bytes) if given, reads to EOF, returns the bytes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((host, port))
        if request:
            s.sendall(request)
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                return b"".join(chunks)
            chunks.append(data)


def fetch_when_listening(port):
    """fetch() once something listens on port (a socket a service manager binds in its own time)."""
    def attempt():
        try:
            return fetch("127.0.0.1", port)
        except ConnectionRefusedError:
            return None
    return wait_for(attempt, what=f"something listening on {port}")


class TempDirTestCase(unittest.TestCase):
    """Gives each test self.tmp, a fresh directory removed afterwards, and stops servers it started."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="cppd-test-")
        os.chmod(self.tmp, 0o755)
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            server.kill()
        if not os.environ.get("CPPD_TEST_KEEP"):  # CPPD_TEST_KEEP=1 keeps each test's directory (its logs) to read
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start_server(self, args, env=None, logfile="cppd.log", preexec_fn=None):
        """preexec_fn runs in the child before cppd starts (for example to set its resource limits)."""
        server = Server(args, cwd=self.tmp, env=env, logfile=logfile, preexec_fn=preexec_fn)
        self.servers.append(server)
        return server

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def socket_activated(self, cppd_args, activate_args=()):
        """cppd -n run by systemd-socket-activate on a free loopback port: (the process, the port, the log)."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = self.path("cppd.log")
        proc = subprocess.Popen(["systemd-socket-activate", "-l", f"127.0.0.1:{port}", *activate_args, CPPD,
                                 "--nodaemon", "--pidfile=", "--logfile", log, *cppd_args],
                                cwd=self.tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait()))
        return proc, port, log

    def notify_socket(self):
        """A service manager's notification socket (sd_notify's NOTIFY_SOCKET): (the bound socket, its path)."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        path = self.path("notify")
        sock.bind(path)
        sock.settimeout(DEFAULT_TIMEOUT)
        self.addCleanup(sock.close)
        return sock, path

    def write(self, name, content, mode=0o644):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        os.chmod(p, mode)
        return p
