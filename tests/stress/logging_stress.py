"""The log under pressure: real logrotate rotating it under load (postrotate sends SIGHUP), and a full disk (a
64 KiB tmpfs when we may mount one, and /dev/full)."""
import glob
import os
import re
import shutil
import signal
import stat

from stresslib import (ECSTASY, Load, Result, Server, check, count_lines, fetch, listening_port, poetry_args,
                       read_text, wait_for)

LOGROTATE = shutil.which("logrotate") or "/usr/sbin/logrotate"


def logrotate_under_load(ctx):
    rotations = 20
    check(os.path.exists(LOGROTATE), "logrotate is not installed (apt-get install logrotate)")
    pidfile = ctx.path("cppd.pid")
    poem_len = os.path.getsize(ECSTASY)
    server = Server(ctx, poetry_args(ECSTASY), pidfile=pidfile)
    port = server.port()
    wait_for(lambda: read_text(pidfile).strip() == str(server.pid), 10, "the pidfile")
    conf = ctx.path("logrotate.conf")
    with open(conf, "w") as f:
        f.write(f"{server.logfile} {{\n  rotate {rotations + 5}\n  missingok\n  nocompress\n  create 0644\n"
                f"  postrotate\n    /bin/kill -HUP $(cat {pidfile})\n  endscript\n}}\n")
    load = Load(port, poem_len, threads=4, count=200000, seconds=120, pause=0.001)
    try:
        for i in range(rotations):
            before = load.finished()
            result = ctx.processes.run([LOGROTATE, "-f", "-s", ctx.path("logrotate.state"), conf], timeout=20)
            check(result.returncode == 0, f"logrotate run {i + 1} failed: {result.stderr!r}")
            # Under load, until the HUP is handled lines go to the renamed file; the next rotation waits for the
            # daemon to write into the file logrotate created, so each of the 20 really is a rename + reopen.
            wait_for(lambda: "sending" in read_text(server.logfile), 20,
                     f"a line in the log created by rotation {i + 1}")
            wait_for(lambda: load.finished() > before, 20, "the load to make progress")
    finally:
        load.stop()
    check(server.alive(), "cppd died during the rotations")
    made = load.complete

    def counted():
        files = [server.logfile, *glob.glob(server.logfile + ".*")]
        return sum(count_lines(read_text(p), "sending 1404 bytes") for p in files), len(files)
    # Every fetch that completed was logged before its bytes were sent; wait for the counts to match.
    try:
        wait_for(lambda: counted()[0] >= made, 10, "every connection's log line")
    except AssertionError:
        pass
    lines, files = counted()
    code, _ = server.stop()
    lost = "nothing" if lines == made and load.lost() == 0 else \
        f"{made} connections, {lines} 'sending' lines; {load.lost()} client failures ({load.first_error})"
    check(lost == "nothing", lost)
    check(files == rotations + 1, f"{files} log files after {rotations} rotations, expected {rotations + 1}")
    check(code == 0, f"exit status {code}")
    return Result("logrotate x20 + SIGHUP under load", f"{rotations} logrotate -f runs, 4 client threads",
                  "nothing", detail=f"{made} connections = {lines} 'sending' lines over {files} files")


def _disk_full_case(ctx, name, logfile, freeing=None):
    """Serves past a full log; returns a description. freeing() makes room again (None: the device never has)."""
    poem_len = os.path.getsize(ECSTASY)
    server = Server(ctx, poetry_args(ECSTASY), logfile=logfile, name=name)
    port = server.port(timeout=20) if freeing else None
    if port is None:  # /dev/full: the "starting on" line never reaches the log; find the port another way
        port = listening_port(server.pid)
    message = re.compile(rf"write log file {re.escape(logfile)}: No space left on device \(lines are dropped "
                         r"until writing works again; the server keeps running\)")
    served = 0
    for _ in range(5000):  # bounded: a 64 KiB tmpfs fills after a few hundred lines
        if message.search(server.stderr()):
            break
        data, error = fetch(port)
        check(error is None and len(data) == poem_len, f"fetch {served + 1} failed before the disk was full: "
                                                       f"{error}")
        served += 1
    wait_for(lambda: message.search(server.stderr()), 10, "the full-disk message on stderr")
    full_fetches = 300
    for i in range(full_fetches):
        data, error = fetch(port)
        check(error is None and len(data) == poem_len, f"fetch {i + 1} with the disk full: {len(data)} bytes, "
                                                       f"{error}")
    for signum in (signal.SIGUSR1, signal.SIGHUP):  # rotating or reopening a full log changes nothing
        os.kill(server.pid, signum)
        wait_for(lambda: server.alive() and fetch(port)[1] is None, 10, f"a fetch after signal {signum}")
    reports = len(message.findall(server.stderr()))
    check(reports == 1, f"the full-disk message appeared {reports} times on stderr, expected once: "
                        f"{server.stderr()[-600:]!r}")
    recovered = ""
    if freeing:
        freeing()
        wait_for(lambda: fetch(port)[1] is None and "log lines were lost" in server.log(), 10,
                 "the 'log lines were lost' notice once there is room again")
        lost_lines = int(re.search(r"(\d+) log lines were lost: write log file", server.log()).group(1))
        check(lost_lines >= full_fetches, f"the notice says {lost_lines} lines were lost; at least "
                                          f"{full_fetches} were")
        recovered = f"; after freeing space the log says '{lost_lines} log lines were lost'"
    code, _ = server.stop()
    check(code == 0, f"exit status {code} with a full log")
    return (f"{name}: {served} served to fill, {full_fetches + 2} served full (SIGUSR1, SIGHUP), 1 stderr "
            f"message{recovered}")


def disk_full(ctx):
    details = []
    # /dev/full: a character device, so never rotated; every write fails with ENOSPC.
    check(stat.S_ISCHR(os.stat("/dev/full").st_mode), "/dev/full is not a character device here")
    details.append(_disk_full_case(ctx, "devfull", "/dev/full"))
    check(stat.S_ISCHR(os.stat("/dev/full").st_mode) and not os.path.exists("/dev/full.1"),
          "/dev/full was renamed or replaced")
    # A 64 KiB tmpfs (root only): the file fills, then room comes back.
    mnt = ctx.path("tmpfs")
    os.mkdir(mnt)
    if os.geteuid() == 0 and ctx.processes.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt],
                                               timeout=10).returncode == 0:
        try:
            filler = os.path.join(mnt, "filler")
            with open(filler, "wb") as f:
                f.write(b"\0" * (40 << 10))

            def free():
                os.unlink(filler)
            details.append(_disk_full_case(ctx, "tmpfs", os.path.join(mnt, "cppd.log"), freeing=free))
        finally:
            result = ctx.processes.run(["umount", mnt], timeout=10)
            if result.returncode != 0:
                ctx.processes.run(["umount", "-l", mnt], timeout=10)
    else:
        details.append("tmpfs: skipped (not root or mount refused)")
    return Result("log disk full", "/dev/full as the log; 64 KiB tmpfs filled then freed", "nothing",
                  detail="; ".join(details))


SCENARIOS = [
    ("logrotate_under_load", logrotate_under_load, 150),
    ("disk_full", disk_full, 120),
]
