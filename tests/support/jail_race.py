"""A hostile local user against a served tree, shared by tests/integration/ftp_test.py (a few seconds) and the
stress suite (tests/stress/hostile_local_stress.py, ten seconds).

A directory inside the served root, "swap", is exchanged again and again with a symlink leading outside the root
(renameat2 RENAME_EXCHANGE in a separate process, so the names flip atomically and as fast as the kernel allows),
while FTP clients logged in as a user who may write RETR, STOR, LIST, NLST, CWD, DELE and MKD through "swap".
Nothing outside may be read, listed, created or removed: the outside directory holds a secret file, a file whose
name only appears there, and a victim file to delete.
"""
import ftplib
import io
import os
import subprocess
import sys
import threading
import time

SECRET = b"OUTSIDE THE ROOT\n"
INSIDE = b"inside the root\n"
OUTSIDE_ONLY = "outside-only-name.txt"

# The swapping helper: a tight renameat2(RENAME_EXCHANGE) loop for a bounded time; prints how many exchanges worked.
SWAPPER = r"""
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, deadline = sys.argv[1].encode(), sys.argv[2].encode(), time.monotonic() + float(sys.argv[3])
done = 0
while time.monotonic() < deadline:
    for _ in range(200):
        done += libc.renameat2(-100, a, -100, b, 2) == 0
print(done, flush=True)
"""


def make_tree(root, outside):
    """root/swap (a real directory) and root/swap-link (a symlink to outside), plus the outside files."""
    os.makedirs(os.path.join(root, "swap"), exist_ok=True)
    os.makedirs(outside, exist_ok=True)
    with open(os.path.join(root, "swap", "data.txt"), "wb") as f:
        f.write(INSIDE)
    with open(os.path.join(outside, "data.txt"), "wb") as f:
        f.write(SECRET)
    for name in (OUTSIDE_ONLY, "victim.txt"):
        with open(os.path.join(outside, name), "wb") as f:
            f.write(SECRET)
    os.symlink(outside, os.path.join(root, "swap-link"))
    return sorted(os.listdir(outside))


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.operations = 0
        self.inside_reads = 0
        self.escapes = []

    def add(self, operations=0, inside_reads=0, escape=None):
        with self.lock:
            self.operations += operations
            self.inside_reads += inside_reads
            if escape and len(self.escapes) < 20:
                self.escapes.append(escape)


def _client_round(client, tally, tag, i):
    chunks = []
    try:
        client.retrbinary("RETR swap/data.txt", chunks.append)
    except ftplib.error_perm:
        pass
    data = b"".join(chunks)
    if SECRET.strip() in data:
        tally.add(escape=f"RETR read the outside file: {data[:40]!r}")
    tally.add(operations=1, inside_reads=int(data == INSIDE))
    for command in ("LIST swap", "NLST swap"):
        lines = []
        try:
            client.retrlines(command, lines.append)
        except ftplib.error_perm:
            pass
        if any(OUTSIDE_ONLY in line for line in lines):
            tally.add(escape=f"{command} listed the outside directory")
        tally.add(operations=1)
    for command in (f"STOR swap/up-{tag}-{i}.txt", f"MKD swap/dir-{tag}-{i}", "DELE swap/victim.txt"):
        try:
            if command.startswith("STOR"):
                client.storbinary(command, io.BytesIO(b"upload\n"))
            else:
                client.sendcmd(command)
        except ftplib.error_perm:
            pass
        tally.add(operations=1)
    try:
        client.cwd("swap")
        lines = []
        client.retrlines("LIST", lines.append)
        if any(OUTSIDE_ONLY in line for line in lines):
            tally.add(escape="LIST after CWD listed the outside directory")
    except ftplib.error_perm:
        pass
    client.cwd("/")
    tally.add(operations=2)


def _client(port, user, password, deadline, tally, tag, timeout):
    client = ftplib.FTP()
    client.connect("127.0.0.1", port, timeout=timeout)
    try:
        client.login(user, password)
        i = 0
        while time.monotonic() < deadline and i < 100000:
            _client_round(client, tally, tag, i)
            i += 1
    finally:
        client.close()


def race(root, outside, port, user, password, seconds, clients=4, timeout=20, popen=subprocess.Popen):
    """Runs the swapper and the clients for seconds; returns (tally, exchanges, problems outside)."""
    expected = sorted(os.listdir(outside))
    swapper = popen([sys.executable, "-c", SWAPPER, os.path.join(root, "swap"), os.path.join(root, "swap-link"),
                     str(seconds)], stdout=subprocess.PIPE, text=True)
    tally = Tally()
    deadline = time.monotonic() + seconds
    errors = []

    def run(tag):
        try:
            _client(port, user, password, deadline, tally, tag, timeout)
        except Exception as e:  # reported, never swallowed
            errors.append(f"client {tag}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + timeout + 10)
    out, _ = swapper.communicate(timeout=seconds + 30)
    exchanges = int(out.strip() or 0)
    problems = list(errors)
    found = sorted(os.listdir(outside))
    if found != expected:
        problems.append(f"the outside directory changed: {expected} -> {found}")
    with open(os.path.join(outside, "data.txt"), "rb") as f:
        if f.read() != SECRET:
            problems.append("the outside file was overwritten")
    return tally, exchanges, problems
