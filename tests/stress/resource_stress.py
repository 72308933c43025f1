"""Resources under hostile clients: descriptor exhaustion (ulimit -n 64, 300 clients), 200 clients that never read
beside normal ones, and clients that reset, half-close or vanish (fd count and RSS must return to idle)."""
import resource
import selectors
import socket
import struct
import threading
import time

from stresslib import (MIB, Load, Result, Server, check, cpu_seconds, fd_count, fetch, poetry_args,
                       stalled_client, status_kib, wait_for, write_poem)


def _read_all(sockets, expected, timeout):
    """Reads every socket to EOF at once (one thread, a selector); returns the byte count of each."""
    received = {s: 0 for s in sockets}
    selector = selectors.DefaultSelector()
    for s in sockets:
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
    buffer = bytearray(MIB)
    deadline = time.monotonic() + timeout
    open_count = len(sockets)
    while open_count and time.monotonic() < deadline:
        for key, _ in selector.select(0.5):
            s = key.fileobj
            try:
                n = s.recv_into(buffer)
            except BlockingIOError:
                continue
            except OSError:
                n = 0
            if n:
                received[s] += n
                continue
            selector.unregister(s)
            s.close()
            open_count -= 1
    for key in list(selector.get_map().values()):
        key.fileobj.close()
    selector.close()
    return [received[s] for s in sockets]


def fd_exhaustion(ctx):
    limit, clients = 64, 300
    poem_path = ctx.path("poem.txt")
    poem_len = len(write_poem(poem_path, 2 * MIB))

    def low_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    server = Server(ctx, poetry_args(poem_path), preexec_fn=low_fd_limit)
    port = server.port()
    fetch(port)  # libuv keeps a spare descriptor, opened with the first connection: count it as idle
    idle_fds = fd_count(server.pid)
    sockets = [stalled_client(port) for _ in range(clients)]  # the kernel completes the handshakes (backlog)
    try:
        server.wait_for_log("pausing accepts", timeout=20)
        # The quiet period: every descriptor is taken and nobody reads; the server must sleep in its backoff,
        # not spin on a readable listening socket.
        before, started = cpu_seconds(server.pid), time.monotonic()
        wait_for(lambda: time.monotonic() - started >= 2.0, 5, "a two second quiet period", interval=0.1)
        quiet_cpu = cpu_seconds(server.pid) - before
        check(server.alive(), "cppd died when it ran out of descriptors")
        held = fd_count(server.pid)
        pauses = server.log().count("pausing accepts")
        check(pauses == 1, f"'pausing accepts' logged {pauses} times during one exhaustion")
        check(quiet_cpu < 0.2, f"{quiet_cpu:.2f}s of CPU in a 2s quiet period while paused: it spins")
        check("too many open files (EMFILE)" in server.log(), "the exhaustion message does not name EMFILE")
        # Now every client reads: the server must serve all 300, 64 descriptors at a time.
        sizes = _read_all(sockets, poem_len, timeout=120)
    finally:
        for s in sockets:
            s.close()
    short = [n for n in sizes if n != poem_len]
    check(not short, f"{len(short)} of {clients} clients got a cut poem after the exhaustion: {short[:5]}")
    data, error = fetch(port)
    check(error is None and len(data) == poem_len, f"a fresh fetch after the exhaustion failed: {error}")
    wait_for(lambda: fd_count(server.pid) == idle_fds, 20, f"the fd count to return to {idle_fds}")
    log = server.log()
    episodes = [line for line in log.splitlines() if "pausing accepts" in line or "accepting connections" in line]
    alternating = all(("pausing" in a) != ("pausing" in b) for a, b in zip(episodes, episodes[1:]))
    check(alternating and "pausing" in episodes[0] and "again" in episodes[-1],
          f"exhaustion not logged once per episode: {episodes[:6]}")
    code, _ = server.stop()
    check(code == 0, f"exit status {code}")
    return Result("ulimit -n 64, 300 clients", f"{clients} concurrent 2 MiB clients against 64 descriptors",
                  "nothing", detail=f"all {clients} served; {held} fds held while paused; {quiet_cpu:.3f}s CPU in "
                                    f"a 2s quiet period; {len(episodes) // 2} pause/resume episode(s), each logged "
                                    f"once")


def stalled_readers(ctx):
    stalled_count, normal_count = 200, ctx.rounds(400, 100)
    poem_path = ctx.path("poem.txt")
    poem_len = len(write_poem(poem_path, 4 * MIB))
    server = Server(ctx, poetry_args(poem_path))
    port = server.port()
    fetch(port)
    idle_rss, idle_fds = status_kib(server.pid), fd_count(server.pid)
    stalled = [stalled_client(port) for _ in range(stalled_count)]
    try:
        wait_for(lambda: server.log().count("sending") >= stalled_count + 1, 20, "the stalled connections")
        started = time.monotonic()
        load = Load(port, poem_len, threads=4, count=normal_count, seconds=120)
        wait_for(lambda: load.finished() >= normal_count, 120, f"{normal_count} normal fetches")
        load.stop()
        elapsed = time.monotonic() - started
        peak_rss = status_kib(server.pid)
        check(load.lost() == 0, f"{load.lost()} normal clients failed beside the stalled ones: {load.first_error}")
        check(fd_count(server.pid) >= idle_fds + stalled_count, "the stalled connections are not held open")
    finally:
        for s in stalled:
            s.close()
    growth = peak_rss - idle_rss
    check(growth < 16 * 1024, f"RSS grew by {growth} KiB with {stalled_count} stalled readers (bound 16 MiB)")
    wait_for(lambda: fd_count(server.pid) == idle_fds, 20, f"the fd count to return to {idle_fds}")
    code, _ = server.stop()
    check(code == 0, f"exit status {code}")
    return Result("200 stalled readers + normal clients", f"{stalled_count} never-reading clients, {normal_count} "
                  f"normal 4 MiB fetches", "nothing",
                  detail=f"{normal_count} normal fetches in {elapsed:.1f}s; RSS {idle_rss} -> {peak_rss} KiB "
                         f"(+{growth}); fds back to {idle_fds}")


def _rude(port, kind):
    s = socket.socket()
    try:
        s.settimeout(10)
        if kind == "reset-mid-transfer":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        if kind == "reset-mid-transfer":
            s.recv(4096)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == "reset-at-once":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif kind == "half-close":
            s.shutdown(socket.SHUT_WR)  # the server must still send the whole poem
            total = 0
            while True:
                data = s.recv(MIB)
                if not data:
                    return total
                total += len(data)
        return None  # "vanish": close without reading
    finally:
        s.close()


RUDE_KINDS = ("reset-mid-transfer", "reset-at-once", "half-close", "vanish")


def rude_clients(ctx):
    per_kind = ctx.rounds(1000, 200)
    poem_path = ctx.path("poem.txt")
    poem_len = len(write_poem(poem_path, MIB))
    server = Server(ctx, poetry_args(poem_path))
    port = server.port()
    fetch(port)  # libuv keeps a spare descriptor, opened with the first connection: count it as idle
    idle_fds = fd_count(server.pid)
    failures = []
    lock = threading.Lock()

    def batch(n):
        def worker(kinds):
            for kind in kinds:
                try:
                    got = _rude(port, kind)
                except OSError as e:
                    got = e if kind == "half-close" else None
                if kind == "half-close" and got != poem_len:
                    with lock:
                        failures.append(f"half-close got {got!r} of {poem_len} bytes")
        plan = [kind for _ in range(n) for kind in RUDE_KINDS]
        threads = [threading.Thread(target=worker, args=(plan[i::4],), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        check(not any(t.is_alive() for t in threads), "rude clients still running after 300s")

    def settled(fds):
        return fd_count(server.pid) == fds

    # Warm up (allocator arenas, the log's buffers), then measure the idle state the server must return to.
    batch(20)
    fetch(port)
    wait_for(lambda: settled(idle_fds), 20, "the warm-up connections to close")
    idle_rss = status_kib(server.pid)
    started = time.monotonic()
    batch(per_kind)
    elapsed = time.monotonic() - started
    wait_for(lambda: settled(idle_fds), 20, f"the fd count to return to idle ({idle_fds})")
    after_rss = status_kib(server.pid)
    data, error = fetch(port)
    check(error is None and len(data) == poem_len, f"a normal fetch after the rude clients failed: {error}")
    check(not failures, f"{len(failures)} half-closed clients were not served: {failures[:3]}")
    growth = after_rss - idle_rss
    check(growth <= max(2048, idle_rss // 10), f"RSS {idle_rss} -> {after_rss} KiB after the rude clients")
    log = server.log()
    sent = log.count("sending 1048576 bytes")
    check(sent >= 4 * per_kind, f"only {sent} connections logged for {4 * per_kind} made")
    code, _ = server.stop()
    check(code == 0, f"exit status {code}")
    return Result("reset / half-close / vanish", f"{per_kind} each of {', '.join(RUDE_KINDS)}", "nothing",
                  detail=f"{4 * per_kind} rude connections in {elapsed:.1f}s; fds {idle_fds} -> {idle_fds}; RSS "
                         f"{idle_rss} -> {after_rss} KiB")


SCENARIOS = [
    ("fd_exhaustion", fd_exhaustion, 180),
    ("stalled_readers", stalled_readers, 180),
    ("rude_clients", rude_clients, 300),
]
