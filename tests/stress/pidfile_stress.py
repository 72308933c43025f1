"""The pidfile lock under races: two daemons started at once on one pidfile (exactly one server each round), and
kill -9 followed at once by a restart on the same pidfile, as an operator types it (every restart succeeds: the
new one waits for the killed one while its threads exit and still hold the lock)."""
import os
import re
import signal
import subprocess
import time

from stresslib import (ECSTASY, Result, check, fetch, poetry_args, process_alive, read_text, tcp_sockets,
                       wait_for)


def _daemon_argv(ctx, pidfile, logfile):
    return [ctx.cppd, "--pidfile", pidfile, "--logfile", logfile, *poetry_args(ECSTASY)]


def _pid_in(pidfile):
    text = read_text(pidfile).strip()
    return int(text) if text.isdigit() else None


def _stop_daemon(ctx, pid, timeout=20):
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: not process_alive(pid), timeout, f"daemon PID {pid} to stop")


def simultaneous_starts(ctx):
    rounds = ctx.rounds(100, 20)
    pidfile = ctx.path("cppd.pid")
    failures = []
    refusals = other_pid = 0
    for i in range(rounds):
        logfile = ctx.path(f"round-{i}.log")
        procs = [ctx.processes.popen(_daemon_argv(ctx, pidfile, logfile), cwd=ctx.workdir,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True) for _ in range(2)]
        results = []
        for p in procs:
            try:
                out, err = p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            results.append((p.returncode, err))
        pid = _pid_in(pidfile)
        if pid:
            ctx.processes.adopt(pid)
        codes = sorted(code for code, _ in results)
        if codes != [0, 75] or not pid or not process_alive(pid):
            failures.append(f"round {i + 1}: exit codes {codes}, pidfile PID {pid}: {[e for _, e in results]}")
            if pid and process_alive(pid):
                _stop_daemon(ctx, pid)
            continue
        refused = next(err for code, err in results if code == 75)
        named = re.search(r"Another cppd server is running, PID (\d+|unknown) \(pidfile ", refused)
        if not named:
            failures.append(f"round {i + 1}: the refused start said {refused!r}")
        elif named.group(1) != str(pid):
            other_pid += 1  # the winner's launcher, which holds the lock until its daemon takes over

        wait_for(lambda: " starting on " in read_text(logfile), 20, f"round {i + 1}'s server to listen")
        servers = read_text(logfile).count(" starting on ")
        if servers != 1 or len(tcp_sockets(pid, listening=True)) != 1:
            failures.append(f"round {i + 1}: {servers} 'starting on' lines, "
                            f"{len(tcp_sockets(pid, listening=True))} listeners")
        refusals += 1
        _stop_daemon(ctx, pid)
        check(not os.path.exists(pidfile), f"round {i + 1}: the pidfile outlived its daemon")
        if len(failures) > 5:
            break
    lost = "nothing" if not failures else f"{len(failures)} bad rounds: {failures[:2]}"
    check(not failures, lost)
    return Result("two simultaneous starts", f"{rounds} rounds of 2 daemon starts on one pidfile", "nothing",
                  detail=f"{rounds} rounds: exactly one server (exit 0 + exit 75) each time; the refusal named "
                         f"the launcher's PID, not the daemon's, in {other_pid} rounds")


def kill9_restart(ctx):
    rounds = ctx.rounds(100, 20)
    pidfile, logfile = ctx.path("cppd.pid"), ctx.path("cppd.log")
    poem_len = os.path.getsize(ECSTASY)
    failures = []
    stale_notes = 0
    pid = None
    started = time.monotonic()
    for i in range(rounds + 1):
        result = ctx.processes.run(_daemon_argv(ctx, pidfile, logfile), timeout=20, cwd=ctx.workdir)
        new_pid = _pid_in(pidfile)
        if new_pid:
            ctx.processes.adopt(new_pid)
        if result.returncode != 0 or not new_pid or new_pid == pid or not process_alive(new_pid):
            failures.append(f"restart {i}: exit {result.returncode}, pidfile PID {new_pid}: {result.stderr!r}")
            break
        pid = new_pid
        # The restarted daemon serves (its own "starting on" line, the last in the shared log).
        port = int(wait_for(lambda: _last_port(logfile, pid), 20, f"restart {i}'s port"))
        data, error = fetch(port)
        if error is not None or len(data) != poem_len:
            failures.append(f"restart {i}: fetch got {len(data)} bytes, {error}")
        if i == rounds:
            break
        os.kill(pid, signal.SIGKILL)  # and the restart at once: no waiting for it to die
    text = read_text(logfile)
    stale_notes = text.count("Removing stale pidfile")
    if pid and process_alive(pid):
        _stop_daemon(ctx, pid)
    lost = "nothing" if not failures else f"{len(failures)} failed restarts: {failures[:2]}"
    check(not failures, lost)
    check(stale_notes == rounds, f"{stale_notes} 'Removing stale pidfile' notes for {rounds} kills")
    return Result("kill -9 and restart", f"{rounds} rounds of kill -9 + daemon restart on one pidfile", "nothing",
                  detail=f"{rounds} restarts all succeeded and served; {stale_notes} stale-pidfile notes; "
                         f"{time.monotonic() - started:.1f}s")


def _last_port(logfile, pid):
    """The port of the last 'starting on' line, once the log shows PID's startup (the log is shared)."""
    text = read_text(logfile)
    marker = text.rfind(" starting up.")
    if marker < 0:
        return None
    lines = [line for line in text[marker:].splitlines() if " starting on " in line]
    return lines[-1].rsplit(" ", 1)[1] if lines else None


SCENARIOS = [
    ("simultaneous_starts", simultaneous_starts, 240),
    ("kill9_restart", kill9_restart, 240),
]
