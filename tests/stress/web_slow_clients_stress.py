"""cppd web under slowhttptest: slow headers, slow bodies and slow readers, each holding half again as many
connections as --max-connections allows, while a normal client (curl) must be served within a second throughout.
The server runs with its default deadlines; only --max-connections is set (as the attacks in the issue were run).
The integration test web_limits_test runs a few seconds of the same; this is the long run (45 s each, 8 quick)."""
import os
import shutil
import subprocess
import time

from stresslib import LOOPBACK, Result, Server, ScenarioFailed, check

MAX_CONNECTIONS = 100


def _served_within_a_second(ctx, port, path, deadline):
    """curl every 0.25 s until deadline; returns (requests, slowest seconds, failures as text)."""
    count, slowest, failures = 0, 0.0, []
    while time.monotonic() < deadline:
        started = time.monotonic()
        result = ctx.processes.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1",
                                    f"http://127.0.0.1:{port}{path}"], timeout=10)
        took = time.monotonic() - started
        count, slowest = count + 1, max(slowest, took)
        if result.stdout != "200" or took >= 1:
            failures.append(f"at {started - deadline:+.1f}s: {result.stdout or '-'} {result.stderr.strip()}"
                            f" ({took:.2f}s)")
        time.sleep(0.25)  # the normal client's pace, not synchronisation
    return count, slowest, failures


def _attack(ctx, name, mode_args, path="/index.html", server_args=()):
    if shutil.which("slowhttptest") is None:
        raise ScenarioFailed("slowhttptest is not installed (cmake/install-deps.sh --test)")
    seconds = ctx.rounds(45, 8)
    root = ctx.path("root")
    os.makedirs(root)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<h1>home</h1>\n")
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.truncate(16 << 20)
    server = Server(ctx, ["web", "--port", LOOPBACK, "--path", root, "--max-connections", str(MAX_CONNECTIONS),
                          *server_args], runner_args=("--allow-root",))  # root in CI, serving its own files
    port = server.port()
    attack = ctx.processes.popen(["slowhttptest", *mode_args, "-c", str(MAX_CONNECTIONS * 3 // 2), "-r", "50",
                                  "-l", str(seconds), "-u", f"http://127.0.0.1:{port}{path}"], cwd=ctx.workdir,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(2)  # let the attack fill the slots before the first normal request (its ramp-up, not a sync)
    count, slowest, failures = _served_within_a_second(ctx, port, "/index.html", time.monotonic() + seconds - 3)
    try:
        attack.wait(timeout=seconds + 60)
    except subprocess.TimeoutExpired:
        raise ScenarioFailed(f"slowhttptest {' '.join(mode_args)} did not end within {seconds + 60}s") from None
    check(server.alive(), "cppd died under the attack")
    check(not failures, f"{len(failures)} of {count} normal requests not served within a second: {failures[:3]}")
    code, _ = server.stop()
    check(code == 0, f"exit status {code}")
    return Result(name, f"slowhttptest {' '.join(mode_args)} -c {MAX_CONNECTIONS * 3 // 2} for {seconds}s against "
                  f"--max-connections {MAX_CONNECTIONS}", "nothing",
                  detail=f"{count} normal requests all served, slowest {slowest * 1000:.0f} ms")


def slow_headers(ctx):
    return _attack(ctx, "web_slow_headers", ["-H", "-i", "10"])


def slow_bodies(ctx):
    return _attack(ctx, "web_slow_bodies", ["-B", "-i", "10", "-s", "100000"])


def slow_readers(ctx):
    # Readers with a 16-32 byte window that read 32 bytes every 5 s, of a 16 MiB file.
    return _attack(ctx, "web_slow_readers", ["-X", "-w", "16", "-y", "32", "-n", "5", "-z", "32", "-k", "1"],
                   path="/big.bin")


SCENARIOS = [
    ("web_slow_headers", slow_headers, 180),
    ("web_slow_bodies", slow_bodies, 180),
    ("web_slow_readers", slow_readers, 180),
]
