"""ftp under hostile clients, all at once, while a normal client is served: pipelined STAT and FEAT floods that never
read, logins dribbled a byte at a time, password guessers, and downloads whose data connection is never read.
Each kind of hostile client comes from its own loopback address (127.0.0.2-5), the normal client from 127.0.0.1,
so the per-address limits act as they would on a network."""
import ctypes
import ftplib
import os
import re
import socket
import threading
import time

from stresslib import MIB, Result, Server, check, status_kib, wait_for

FLOOD, DRIBBLE, GUESS, HOLD = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"


def _yescrypt(password):
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt.restype = ctypes.c_char_p
    return lib.crypt(password.encode(), lib.crypt_gensalt(b"$y$", 0, None, 0)).decode()


def _connect(port, source, rcvbuf=None, timeout=10):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


class Hostiles:
    """Runs the hostile clients in threads until stop(); counts what each kind managed."""

    def __init__(self, port, until):
        self.port, self.until = port, until
        self.stopping = threading.Event()
        self.counts = {"flood": 0, "dribble": 0, "guess": 0, "hold": 0}
        self.lock = threading.Lock()
        kinds = [self.flood] * 3 + [self.dribble] * 6 + [self.guess] * 3 + [self.hold] * 2
        self.threads = [threading.Thread(target=self.loop, args=(kind,), daemon=True) for kind in kinds]
        for t in self.threads:
            t.start()

    def loop(self, kind):
        while not self.stopping.is_set() and time.monotonic() < self.until:
            try:
                kind()
            except OSError:
                pass  # refused, reset or timed out by the server: exactly what it should do
            with self.lock:
                self.counts[kind.__name__] += 1
            self.stopping.wait(0.05)

    def flood(self):
        s = _connect(self.port, FLOOD, rcvbuf=4096)
        with s:
            line = b"USER anonymous\r\nPASS x@y\r\n" + b"STAT many\r\nFEAT\r\n" * 20000
            for at in range(0, len(line), 65536):
                if self.stopping.is_set():
                    return
                s.sendall(line[at:at + 65536])

    def dribble(self):
        s = _connect(self.port, DRIBBLE)
        with s:
            for byte in b"USER anonymous\r\n" * 100:
                if self.stopping.is_set():
                    return
                s.sendall(bytes([byte]))
                self.stopping.wait(0.1)

    def guess(self):
        s = _connect(self.port, GUESS)
        with s, s.makefile("rb") as replies:
            replies.readline()
            for i in range(3):
                s.sendall(b"USER alice\r\n")
                replies.readline()
                s.sendall(f"PASS guess{i}\r\n".encode())
                if not replies.readline().startswith(b"530"):
                    return

    def hold(self):
        s = _connect(self.port, HOLD)
        with s, s.makefile("rb") as replies:
            replies.readline()
            for command in (b"USER anonymous", b"PASS x@y", b"TYPE I"):
                s.sendall(command + b"\r\n")
                replies.readline()
            s.sendall(b"EPSV\r\n")
            data_port = int(re.search(rb"\|\|\|(\d+)\|", replies.readline()).group(1))
            data = _connect(data_port, HOLD, rcvbuf=4096)
            with data:
                s.sendall(b"RETR big.bin\r\n")
                replies.readline()  # 150
                replies.readline()  # 426 once the data timeout has passed

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(15)


def _normal_round(port):
    started = time.monotonic()
    client = ftplib.FTP()
    client.connect("127.0.0.1", port, timeout=10, source_address=("127.0.0.1", 0))
    try:
        client.login()
        chunks = []
        client.retrbinary("RETR pub/hello.txt", chunks.append)
        check(b"".join(chunks) == b"hello, ftp\n", "the normal client got the wrong file")
        check(client.nlst("pub") == ["pub/hello.txt"] or client.nlst("pub") == ["hello.txt"], "wrong listing")
        client.quit()
    finally:
        client.close()
    return time.monotonic() - started


def hostile_clients(ctx):
    root = ctx.path("root")
    os.makedirs(os.path.join(root, "pub"))
    os.makedirs(os.path.join(root, "many"))
    with open(os.path.join(root, "pub", "hello.txt"), "wb") as f:
        f.write(b"hello, ftp\n")
    for i in range(300):
        open(os.path.join(root, "many", f"a-long-name-to-make-a-long-listing-line-{i:04}.txt"), "wb").close()
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.truncate(64 * MIB)
    with open(ctx.path("users.passwd"), "w") as f:
        f.write(f"alice:{_yescrypt('wonderland')}\n")
    server = Server(ctx, ["ftp", "--port", "tcp:0:interface=127.0.0.1", "--root", root, "--password-file",
                          ctx.path("users.passwd"), "--login-timeout", "2", "--data-timeout", "2",
                          "--login-fail-delay", "0.2", "--max-login-failures", "6", "--login-block-time", "5",
                          "--max-clients-per-address", "4"],
                    runner_args=("--allow-root",))  # root in CI, serving its own files
    port = server.port()
    _normal_round(port)
    idle_rss = status_kib(server.pid)
    seconds = 20 if ctx.quick else 60
    hostiles = Hostiles(port, time.monotonic() + seconds)
    latencies = []
    try:
        while time.monotonic() < hostiles.until:
            latencies.append(_normal_round(port))
            time.sleep(0.1)
        peak = status_kib(server.pid, "VmHWM")
    finally:
        hostiles.stop()
    latencies.sort()
    worst, median = latencies[-1], latencies[len(latencies) // 2]
    check(worst < 5, f"a normal round took {worst:.2f}s beside the hostile clients")
    check(peak - idle_rss < 64 * 1024, f"peak RSS {peak} KiB, {peak - idle_rss} KiB above idle (bound 64 MiB)")
    log = server.log()
    for needle, what in (("no login within", "the login deadline"), ("no progress on the data connection",
                         "the data stall timeout"), ("without reading the replies", "the input bound"),
                         ("too many failed logins", "the failed-login limit")):
        check(needle in log, f"{what} never acted: no '{needle}' in the log")
    lines = log.count("\n")
    code, stop_seconds = server.stop()
    check(code == 0 and stop_seconds < 10, f"exit status {code} after {stop_seconds:.1f}s of SIGTERM")
    return Result("ftp hostile clients", f"{len(latencies)} normal rounds beside {hostiles.counts}", "nothing",
                  detail=f"normal round median {median * 1000:.0f} ms, worst {worst * 1000:.0f} ms; RSS {idle_rss} "
                         f"-> peak {peak} KiB; {lines} log lines; SIGTERM exit in {stop_seconds:.2f}s")


SCENARIOS = [
    ("ftp_hostile_clients", hostile_clients, 180),
]
