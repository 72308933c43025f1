"""The soak: mixed load for --soak-seconds (normal fetches, rude clients, stalled readers that come and go,
SIGHUP reopens and size rotation), with the fd count, RSS and log size sampled as it runs: all must stay flat."""
import glob
import os
import signal
import threading
import time

from stresslib import (Load, Result, Server, check, fd_count, fetch, poetry_args, stalled_client, status_kib, wait_for,
                       write_poem)
from resource_stress import RUDE_KINDS, _rude

MAX_LOG = 1 << 20
KEEP = 3


def soak(ctx):
    seconds = ctx.soak_seconds
    interval = 10.0 if seconds >= 60 else 2.0
    poem_path = ctx.path("poem.txt")
    poem_len = len(write_poem(poem_path, 256 << 10))
    server = Server(ctx, poetry_args(poem_path), runner_args=["--logfile-max-size", str(MAX_LOG),
                                                              "--logfile-keep", str(KEEP)])
    port = server.port()
    fetch(port)  # libuv keeps a spare descriptor, opened with the first connection: count it as idle
    idle_fds = fd_count(server.pid)
    stop = threading.Event()
    rude_errors = []

    def rude_loop():
        i = 0
        while not stop.is_set():
            kind = RUDE_KINDS[i % len(RUDE_KINDS)]
            try:
                got = _rude(port, kind)
                if kind == "half-close" and got != poem_len:
                    rude_errors.append(f"half-close got {got} bytes")
            except OSError as e:
                if kind == "half-close":
                    rude_errors.append(f"half-close: {e}")
            i += 1
            stop.wait(0.01)
        return i

    def stalled_loop():
        # 20 readers that never read, replaced by 20 new ones every 5 seconds.
        group = []
        while not stop.is_set():
            fresh = [stalled_client(port) for _ in range(20)]
            for s in group:
                s.close()
            group = fresh
            stop.wait(5)
        for s in group:
            s.close()

    load = Load(port, poem_len, threads=3, count=10_000_000, seconds=seconds + 30, pause=0.01)
    helpers = [threading.Thread(target=f, daemon=True) for f in (rude_loop, stalled_loop)]
    for t in helpers:
        t.start()
    samples = []
    started = time.monotonic()
    next_sample, next_hup = started, started + 15
    try:
        while True:
            now = time.monotonic()
            if now >= next_sample:
                check(server.alive(), f"cppd died during the soak: {server.stderr()[-400:]!r}")
                logs = sum(os.path.getsize(p) for p in glob.glob(server.logfile + "*") if os.path.isfile(p))
                samples.append((now - started, fd_count(server.pid), status_kib(server.pid), logs, load.complete))
                next_sample += interval
            if now >= next_hup:
                os.kill(server.pid, signal.SIGHUP)
                next_hup += 15
            if now - started >= seconds:
                break
            stop.wait(min(next_sample, next_hup, started + seconds) - now)
    finally:
        stop.set()
        load.stop()
        for t in helpers:
            t.join(30)
    wait_for(lambda: fd_count(server.pid) == idle_fds, 30, f"the fd count to return to idle ({idle_fds})")
    check(load.lost() == 0, f"{load.lost()} normal fetches failed during the soak: {load.first_error}")
    check(not rude_errors, f"{len(rude_errors)} half-closed clients not served: {rude_errors[:3]}")
    third = max(1, len(samples) // 3)
    early = max(s[2] for s in samples[:third])
    late = max(s[2] for s in samples[-third:])
    check(late <= early + max(4096, early // 10), f"RSS grew during the soak: {early} KiB early, {late} KiB late")
    fds_max = max(s[1] for s in samples)
    check(fds_max <= idle_fds + 20 + 2 * 20 + 16, f"fd count reached {fds_max} (idle {idle_fds})")
    logs_max = max(s[3] for s in samples)
    check(logs_max <= (KEEP + 1) * MAX_LOG + (64 << 10), f"log files reached {logs_max} bytes on disk")
    code, _ = server.stop()
    check(code == 0, f"exit status {code}")
    table = ", ".join(f"{t:.0f}s:{f}fd/{r}K/{l // 1024}K" for t, f, r, l, _ in samples)
    return Result("soak", f"{seconds:g}s mixed load (3 fetchers, rude clients, 20 stalled rotating, SIGHUP/15s, "
                  f"size rotation)", "nothing",
                  detail=f"{load.complete} fetches; fds max {fds_max} (idle {idle_fds}); RSS early max {early} KiB, "
                         f"late max {late} KiB; logs max {logs_max // 1024} KiB; samples (t:fds/RSS/logs): {table}")


SCENARIOS = [
    ("soak", soak, None),  # bounded by --soak-seconds plus a margin (see run)
]
