"""Stopping under load and misbehaving plugins: SIGTERM while 64 clients are mid-download; a plugin whose
startService throws, one whose stopService never completes, one that segfaults at load (and one whose factory
throws)."""
import hashlib
import os
import shutil
import signal
import socket
import threading
import time

from stresslib import (MIB, Result, Server, ScenarioFailed, check, poetry_args, tcp_sockets, wait_for, write_poem)

CLIENTS = 64


def sigterm_mid_download(ctx):
    poem_path = ctx.path("poem-1MiB.txt")
    poem = write_poem(poem_path, MIB)
    digest = hashlib.sha256(poem).hexdigest()
    timeout = 30.0
    server = Server(ctx, poetry_args(poem_path), runner_args=["--shutdown-timeout", str(timeout)])
    port = server.port()
    go = threading.Event()
    lock = threading.Lock()
    partial, outcomes = [], []

    def client():
        received, error = [], None
        try:
            with socket.socket() as s:
                # On loopback the kernel sizes the server's send buffer from the MSS (64 KiB segments x the
                # initial window: about 2.5 MiB), so a whole MiB would vanish into it and the server would be done
                # before SIGTERM. A 1 KiB MSS and a 4 KiB window keep the server writing until SIGTERM.
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 1024)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(30)
                s.connect(("127.0.0.1", port))
                received.append(s.recv(4096))
                with lock:
                    partial.append(len(received[0]))
                go.wait(60)
                while True:
                    data = s.recv(MIB)
                    if not data:
                        break
                    received.append(data)
        except OSError as e:
            error = e
        body = b"".join(received)
        with lock:
            outcomes.append((len(body), hashlib.sha256(body).hexdigest() == digest, error))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(partial) == CLIENTS, 30, f"{CLIENTS} clients to receive their first bytes")
        server.wait_for_log("sending", timeout=5)
        check(all(0 < n < len(poem) for n in partial), f"some client was not mid-download: {sorted(partial)[:5]}")
        # The server must still be writing to every client: its connection descriptors are all open.
        writing = len(tcp_sockets(server.pid, listening=False))
        check(writing == CLIENTS, f"only {writing} of {CLIENTS} connections still open on the server side")
        started = time.monotonic()
        os.kill(server.pid, signal.SIGTERM)
        wait_for(lambda: server.proc.poll() is not None or "Received SIGTERM" in server.log(), 10,
                 "the SIGTERM to be handled")
    finally:
        go.set()
    try:
        code = server.proc.wait(timeout + 10)
    except Exception:
        raise ScenarioFailed(f"cppd did not exit within {timeout + 10:g}s of SIGTERM")
    elapsed = time.monotonic() - started
    for t in threads:
        t.join(30)
    complete = sum(1 for n, same, error in outcomes if n == len(poem) and same and error is None)
    cut = [(n, str(error)) for n, same, error in outcomes if not (n == len(poem) and same and error is None)]
    lost = "nothing" if not cut and len(outcomes) == CLIENTS else f"{len(cut)} poems cut short: {cut[:3]}"
    check(not cut and len(outcomes) == CLIENTS, lost)
    check(code == 0, f"exit status {code} after SIGTERM, expected 0; log tail: {server.log()[-600:]!r}")
    check(elapsed < timeout, f"exit took {elapsed:.1f}s, over the {timeout:g}s shutdown timeout")
    check("Received SIGTERM, shutting down." in server.log(), "the log does not show the SIGTERM")
    check(f"(TCP Port {port} Closed)" in server.log(), "the log does not say the port was closed")
    return Result("SIGTERM mid-download", f"{CLIENTS} clients x 1 MiB, SIGTERM with all mid-transfer",
                  "nothing", detail=f"{complete}/{CLIENTS} complete poems, {writing} server connections open at "
                                    f"SIGTERM; exit 0 after {elapsed:.2f}s (timeout {timeout:g}s)")


def _plugins(ctx, *names):
    plugins = ctx.path("plugins")
    os.makedirs(plugins, exist_ok=True)
    for name in names:
        source = os.path.join(ctx.test_plugin_dir, name)
        check(os.path.exists(source), f"test plugin {source} is not built (target cppd_test_plugins)")
        shutil.copy(source, plugins)
    return plugins


def plugin_start_throws(ctx):
    plugins = _plugins(ctx, "stuck.so")
    pidfile, log = ctx.path("cppd.pid"), ctx.path("cppd.log")
    expected = "cppd: startup failed: stuck: start refused on purpose"
    shown = []
    for mode in ("foreground", "daemon"):
        argv = [ctx.cppd, *(["-n"] if mode == "foreground" else []), "--pidfile", pidfile, "--logfile", log,
                "--plugin-path", plugins, "stuck", "--mode", "fail-start"]
        started = time.monotonic()
        result = ctx.processes.run(argv, timeout=20, cwd=ctx.workdir)
        elapsed = time.monotonic() - started
        check(result.returncode == 78, f"{mode}: exit {result.returncode}, expected 78 (config); "
                                       f"stderr {result.stderr!r}")
        check(expected in result.stderr, f"{mode}: stderr {result.stderr!r} lacks {expected!r}")
        check(result.stderr.count("startup failed") == 1, f"{mode}: failure reported more than once: "
                                                          f"{result.stderr!r}")
        check(not os.path.exists(pidfile), f"{mode}: the pidfile was left behind")
        shown.append(f"{mode}: exit 78 in {elapsed:.2f}s")
    check("startup failed: stuck: start refused on purpose" in open(log).read(), "the log lacks the failure")
    return Result("plugin: startService throws", "stuck --mode fail-start, foreground and daemon", "nothing",
                  detail=f"{'; '.join(shown)}; stderr: {expected!r}")


def plugin_stop_never_completes(ctx):
    plugins = _plugins(ctx, "stuck.so")
    timeout = 2.0
    server = Server(ctx, ["stuck", "--mode", "stuck"], runner_args=["--plugin-path", plugins,
                                                                    "--shutdown-timeout", str(timeout)])
    server.wait_for_log("StuckService started")
    code, elapsed = server.stop(signal.SIGTERM, timeout=timeout + 10)
    log = server.log()
    check(code == 70, f"exit {code} after a stuck stop, expected 70 (software)")
    check(timeout <= elapsed < timeout + 2, f"exit after {elapsed:.2f}s; the shutdown timeout is {timeout:g}s")
    line = "Shutdown forced (the shutdown timeout of 2s expired); services not stopped: stuck/"
    check(line in log, f"the log lacks {line!r}: {log[-600:]!r}")
    check("StuckService" in log.split("services not stopped:")[1].splitlines()[0], "the stuck service is not named")
    check("Server Shut Down." in log, "no 'Server Shut Down.' after the forced stop")
    return Result("plugin: stopService never completes", f"stuck --mode stuck, --shutdown-timeout {timeout:g}",
                  "nothing", detail=f"exit 70 after {elapsed:.2f}s; log: {line}...")


def plugin_crashes_at_load(ctx):
    # Listing reads the plugins' metadata notes and runs none of their code; only the plugin that is started is
    # loaded, in the foreground process, before any fork: its crash or exception ends that start and nothing else.
    plugins = _plugins(ctx, "crash.so", "throwing.so")
    listing = ctx.processes.run([ctx.cppd, "--plugin-path", plugins, "--list-plugins", "-v"], timeout=20,
                                cwd=ctx.workdir)
    check(listing.returncode == 0, f"--list-plugins with a crashing plugin exits {listing.returncode}: "
                                   f"{listing.stderr!r}")
    for name in ("crash", "throwing"):
        check(f"{plugins}/{name}.so (--plugin-path)" in listing.stdout and "Rejected" not in listing.stdout,
              f"--list-plugins -v does not list {name} from its note: {listing.stdout!r}")
    result = ctx.processes.run([ctx.cppd, "-n", "--pidfile=", "--plugin-path", plugins, "throwing"], timeout=20,
                               cwd=ctx.workdir)
    expected = f"plugin {plugins}/throwing.so: its service-maker factory failed: cannot read /etc/throwing.conf"
    check(result.returncode == 70, f"throwing: exit {result.returncode}, expected 70; stderr {result.stderr!r}")
    check(expected in result.stderr, f"throwing: stderr {result.stderr!r} lacks {expected!r}")
    result = ctx.processes.run([ctx.cppd, "-n", "--pidfile=", "--plugin-path", plugins, "crash"], timeout=20,
                               cwd=ctx.workdir)
    check(result.returncode == -11, f"crash: exit {result.returncode}, expected death by SIGSEGV at load")
    return Result("plugin: segfault at load",
                  "crash.so (SIGSEGV in a static constructor), throwing.so, --list-plugins -v",
                  "nothing", detail=f"listed from notes; started: SIGSEGV before any fork; throwing: exit 70")


SCENARIOS = [
    ("sigterm_mid_download", sigterm_mid_download, 90),
    ("plugin_start_throws", plugin_start_throws, 60),
    ("plugin_stop_never_completes", plugin_stop_never_completes, 30),
    ("plugin_crashes_at_load", plugin_crashes_at_load, 60),
]
