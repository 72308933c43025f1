"""The parts of tests/bench/reload_bench that touch the daemon: cppd serving web and fastpoetry under --workers
(Daemon), the disruptions and how each is awaited (Disruptor), the load generator run (Load), the count of the
supervisor's children (ChildSampler). Every wait has a deadline; processes are ended by PID.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "support"))
import cppdtest  # noqa: E402

DISRUPTIONS = ("reload", "upgrade", "worker-kill", "failing")
NOT_SUPPORTED = "reload is not supported by this version"
DONE_TIMEOUT = 30.0   # a disruption not complete in this long is a failure (the issue's --reload-timeout default)


class BenchError(Exception):
    """Something the bench needs did not happen (a daemon that did not start, a disruption that never completed)."""


class ReloadUnsupported(BenchError):
    pass


def wait_for(predicate, timeout, what, interval=0.01):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Daemon:
    """cppd --workers N serving web and fastpoetry from a deployment file, with a control socket; in the
    foreground, started and stopped by PID. popen lets a caller track the process (tests/stress's Processes)."""

    def __init__(self, cppd, work, workers, popen=subprocess.Popen, reuseport=False):
        self.cppd, self.work, self.workers = cppd, work, workers
        self.control_path = os.path.join(work, "cppd.ctl")
        self.log_path = os.path.join(work, "cppd.log")
        self.poem = os.path.join(work, "poem.txt")
        root = os.path.join(work, "root")
        os.makedirs(root, exist_ok=True)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("<!doctype html><title>reload bench</title>\n" + "<p>steady as she goes</p>\n" * 36)
        shutil.copyfile(os.path.join(SOURCE, "poetry", "ecstasy.txt"), self.poem)
        deploy = self.deploy_path = os.path.join(work, "deploy.toml")
        with open(deploy, "w") as f:
            self.deploy_text = (f'[cppd]\nworkers = {workers}\ncontrol = "{self.control_path}"\nlogfile = "{self.log_path}"\n'
                    f'pidfile = ""\nallow-root = true\nreuseport = {"true" if reuseport else "false"}\n\n'
                    f'[[service]]\nplugin = "web"\nname = "web"\nport = "tcp:0:interface=127.0.0.1"\n'
                    f'path = "{root}"\n\n'
                    f'[[service]]\nplugin = "fastpoetry"\nname = "poetry"\nport = "tcp:0:interface=127.0.0.1"\n'
                    f'poem = "{self.poem}"\n')
            f.write(self.deploy_text)
        self.stderr = open(os.path.join(work, "cppd.stderr"), "wb")
        self.proc = popen([cppd, "--nodaemon", "-y", deploy], cwd=work, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.pid = self.proc.pid
        try:
            wait_for(lambda: self._exited_check() or "all workers serving" in cppdtest.read_text(self.log_path), 30,
                     f"cppd (PID {self.pid}) to serve")
            listeners = self.control("listeners")["listeners"]
            self.ports = {entry["service"]: int(entry["address"].rsplit(":", 1)[1]) for entry in listeners}
        except (BenchError, OSError, ValueError):
            self.stop()  # nobody else holds the daemon yet
            raise

    def _exited_check(self):
        if self.proc.poll() is not None:
            raise BenchError(f"cppd exited with {self.proc.returncode}: "
                             f"{cppdtest.read_text(self.stderr.name)[-500:]}{cppdtest.read_text(self.log_path)[-800:]}")
        return False

    def control(self, command, args=(), timeout=10):
        """One request on the control socket (what `cppdctl --json` sends); the reply's result, or BenchError."""
        request = {"command": command, **({"args": list(args)} if args else {})}
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.control_path)
            s.sendall(json.dumps(request).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data)
        if not reply.get("ok"):
            raise BenchError(f"control {command}: {reply.get('error')}")
        return reply["result"]

    def status(self):
        """The status, or None while the control socket does not answer (a supervisor re-executing itself)."""
        try:
            return self.control("status", timeout=2)
        except (OSError, ValueError, BenchError):
            return None

    def children(self):
        """The supervisor's children, whichever of its threads forked them."""
        found = []
        try:
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/children") as f:
                    found += f.read().split()
        except FileNotFoundError:  # a thread (or the process) that ended meanwhile
            pass
        return found

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))

    def rss_parts_kib(self):
        """(private, file-backed, shared memory) resident KiB: RssAnon, RssFile, RssShmem."""
        with open(f"/proc/{self.pid}/status") as f:
            text = f.read()
        return tuple(int(re.search(rf"^{name}:\s+(\d+)", text, re.M).group(1))
                     for name in ("RssAnon", "RssFile", "RssShmem"))

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        self.stderr.close()


class ChildSampler(threading.Thread):
    """Counts the supervisor's children every 10 ms until stopped: the most seen, and when."""

    def __init__(self, daemon):
        super().__init__(daemon=True)
        self.target, self.most, self.samples, self.most_at = daemon, 0, 0, None
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.wait(0.01):
            count = len(self.target.children())
            self.samples += 1
            if count > self.most:
                self.most, self.most_at = count, time.monotonic()

    def stop(self):
        self._stop_event.set()
        self.join(5)
        return self


class Disruptor:
    """Performs one disruption at a time and waits until it has completed; remembers when each began and ended
    (CLOCK_MONOTONIC, to place failures on the load generator's timeline)."""

    def __init__(self, kind, daemon, cppdctl, work, run=subprocess.run):
        self.kind, self.daemon, self.cppdctl, self.work, self.run = kind, daemon, cppdctl, work, run
        self.spans = []        # (began, ended) per disruption
        self.stale_exe = 0     # upgrades after which the supervisor did not run the new file
        self.variants = []

    def cppdctl_run(self, *args, timeout=60):
        return self.run([self.cppdctl, "-s", self.daemon.control_path, *args], stdin=subprocess.DEVNULL,
                        capture_output=True, text=True, timeout=timeout)

    def prepare(self):
        """Checks that the daemon can do this disruption; prepares the rebuilt binaries of an upgrade."""
        if self.kind in ("reload", "upgrade", "failing"):
            answer = self.cppdctl_run("--timeout", "60", "reload", timeout=90)
            text = (answer.stdout + answer.stderr).strip()
            if NOT_SUPPORTED in text:
                raise ReloadUnsupported(f"cppdctl reload: {text}")
            if answer.returncode != 0:
                raise BenchError(f"cppdctl reload (the first, outside the load) failed ({answer.returncode}): {text}")
        if self.kind == "upgrade":
            self._make_variants()

    def _make_variants(self):
        """Two copies of the installed binary that differ from it and from each other, as a rebuild would."""
        installed = self.daemon.cppd
        for name in ("a", "b"):
            note, variant = os.path.join(self.work, f"note-{name}"), os.path.join(self.work, f"cppd-{name}")
            with open(note, "wb") as f:
                f.write(os.urandom(64))
            made = self.run(["objcopy", "--add-section", f".note.cppd-rebuild={note}", "--set-section-flags",
                             ".note.cppd-rebuild=noload,readonly", installed, variant], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
            if made.returncode != 0:
                raise BenchError(f"objcopy --add-section of {installed} failed: {made.stderr.strip()}")
            self.variants.append(variant)

    def disrupt(self, number):
        began = time.monotonic()
        if self.kind == "worker-kill":
            self._kill_worker(number)
        elif self.kind == "failing" and number % 2 == 1:
            self._failing_reload(number // 2)
        else:
            if self.kind == "upgrade":
                self._replace_binary(number)
            self._reload()
        self.spans.append((began, time.monotonic()))

    def _reload(self):
        before = self._status()["generation"]
        os.kill(self.daemon.pid, signal.SIGUSR2)
        wait_for(lambda: (self.daemon.status() or {}).get("generation", 0) > before, DONE_TIMEOUT,
                 f"the generation to pass {before} after SIGUSR2", interval=0.005)
        if self.kind == "upgrade":
            if os.stat(f"/proc/{self.daemon.pid}/exe").st_ino != os.stat(self.daemon.cppd).st_ino:
                self.stale_exe += 1

    # What a failing reload breaks, in turn: the check refuses the first two before anything changes; the last two
    # fail after the exec (a worker's start, the new image's bind), so the old generation must keep serving then.
    # (what, the file's new text from its text and a port another process holds, what the reason must name)
    FAILURES = (
        ("a deployment file with an error", lambda text, port: text + '[[service]]\nplugin = "web"\nport = 7\n',
         "deploy.toml"),
        ("a plugin that is not there", lambda text, port: text + '[[service]]\nplugin = "nosuchplugin"\n',
         "nosuchplugin"),
        ("a poem that is gone (a worker's start fails)",
         lambda text, port: text + '[[service]]\nplugin = "fastpoetry"\nname = "gone"\n'
                                   'port = "tcp:0:interface=127.0.0.1"\npoem = "/nonexistent/poem.txt"\n',
         "/nonexistent/poem.txt"),
        ("a port another process holds (the new image's bind fails)",
         lambda text, port: text + f'[[service]]\nplugin = "fastpoetry"\nname = "taken"\n'
                                   f'port = "tcp:{port}:interface=127.0.0.1"\npoem = "/etc/hostname"\n',
         "address already in use"),
    )

    # The binary as installed is broken instead of the file: (what, how, what the reason must name).
    BINARY_FAILURES = (
        ("a binary that is missing", "missing", "No such file or directory"),
        ("a binary that crashes", "crashes", "killed by SIGSEGV"),
    )

    def _failing_reload(self, number):
        cases = len(self.FAILURES) + len(self.BINARY_FAILURES)
        if number % cases >= len(self.FAILURES):
            return self._broken_binary_reload(*self.BINARY_FAILURES[number % cases - len(self.FAILURES)])
        what, broken, reason = self.FAILURES[number % cases]
        before = self._status()
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            try:
                with open(self.daemon.deploy_path, "w") as f:
                    f.write(broken(self.daemon.deploy_text + "\n", holder.getsockname()[1]))
                os.kill(self.daemon.pid, signal.SIGUSR2)

                def failed():
                    status = self.daemon.status() or {}
                    done = status.get("failed_reloads", 0) > before["failed_reloads"] and not status.get("reloading")
                    return status if done else None
                status = wait_for(failed, DONE_TIMEOUT, f"the reload with {what} to fail", interval=0.005)
            finally:
                with open(self.daemon.deploy_path, "w") as f:
                    f.write(self.daemon.deploy_text)
        if status["generation"] != before["generation"] or reason not in status.get("last_reload", ""):
            raise BenchError(f"the reload with {what}: generation {before['generation']} -> {status['generation']}, "
                             f"last_reload {status.get('last_reload')!r} (expected the old generation to stay and "
                             f"the reason to name {reason!r})")

    def _broken_binary_reload(self, what, how, reason):
        binary = self.daemon.cppd
        saved = binary + ".saved"
        before = self._status()
        os.rename(binary, saved)
        try:
            if how == "crashes":
                with open(binary, "w") as f:
                    f.write("#!/bin/sh\nkill -SEGV $$\n")
                os.chmod(binary, 0o755)

            def failed():
                status = self.daemon.status() or {}
                done = status.get("failed_reloads", 0) > before["failed_reloads"] and not status.get("reloading")
                return status if done else None
            os.kill(self.daemon.pid, signal.SIGUSR2)
            status = wait_for(failed, DONE_TIMEOUT, f"the reload with {what} to fail", interval=0.005)
        finally:
            os.replace(saved, binary)
        if status["generation"] != before["generation"] or reason not in status.get("last_reload", ""):
            raise BenchError(f"the reload with {what}: generation {before['generation']} -> {status['generation']}, "
                             f"last_reload {status.get('last_reload')!r} (expected the old generation to stay and "
                             f"the reason to name {reason!r})")

    def _replace_binary(self, number):
        """As a package manager does: the new file is written beside the old one and renamed over it."""
        fresh = self.daemon.cppd + ".new"
        shutil.copy2(self.variants[number % len(self.variants)], fresh)
        os.rename(fresh, self.daemon.cppd)

    def _kill_worker(self, number):
        workers = sorted(self._status()["workers"], key=lambda w: w["id"])
        victim = workers[number % len(workers)]
        answer = self.cppdctl_run("worker", "kill", str(victim["id"]), timeout=20)
        if answer.returncode != 0:
            raise BenchError(f"cppdctl worker kill {victim['id']} failed ({answer.returncode}): "
                             f"{(answer.stdout + answer.stderr).strip()}")

        def replaced():
            status = self.daemon.status() or {}
            return any(w["id"] == victim["id"] and w["pid"] != victim["pid"] for w in status.get("workers", []))
        wait_for(replaced, DONE_TIMEOUT, f"worker {victim['id']} (PID {victim['pid']}) to be replaced", 0.005)

    def _status(self):
        return wait_for(self.daemon.status, DONE_TIMEOUT, "the control socket to answer status")

    def which(self, moment):
        """The disruption the moment follows (1-based number, seconds since it began), or None."""
        found = None
        for number, (began, _) in enumerate(self.spans, 1):
            if began <= moment:
                found = (number, moment - began)
        return found


class Load:
    """tests/bench/reload_load against the daemon, its output in a file; stop() ends it early (SIGINT)."""

    def __init__(self, binary, daemon, settings, seconds, out_path, popen=subprocess.Popen):
        self.out_path = out_path
        argv = [binary, "--web-port", str(daemon.ports["web"]), "--poetry-port", str(daemon.ports["poetry"]),
                "--poem", daemon.poem, "--seconds", str(seconds), "--keepalive", str(settings.keepalive),
                "--oneshot", str(settings.oneshot), "--poetry", str(settings.poetry),
                "--pause-ms", str(settings.pause_ms)]
        self.out = open(out_path, "w")
        self.proc = popen(argv, stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT)
        self.limit = seconds

    def finish(self, stop=False):
        """Waits for the load generator (after SIGINT if stop); returns (output, {kind: {field: int}})."""
        if stop and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(self.limit + 30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise BenchError("reload_load did not end within 30 s of its time limit")
        finally:
            self.out.close()
        text = cppdtest.read_text(self.out_path)
        results = {m.group(1): {k: int(v) for k, v in re.findall(r"(\S+)=(\d+)", m.group(2))}
                   for m in re.finditer(r"^result kind=(\S+) (.*)$", text, re.M)}
        if self.proc.returncode not in (0, 1) or "all" not in results:
            raise BenchError(f"reload_load failed ({self.proc.returncode}): {text[-1000:]}")
        return text, results


def install(build, work, run=subprocess.run):
    """cppd installed into a prefix of its own (binary, library, plugins), so that the binary can be replaced."""
    prefix = os.path.join(work, "prefix")
    answer = run(["cmake", "--install", build, "--prefix", prefix], stdin=subprocess.DEVNULL, capture_output=True,
                 text=True, timeout=300)
    if answer.returncode != 0:
        raise BenchError(f"cmake --install {build} --prefix {prefix} failed: {answer.stdout[-500:]}{answer.stderr}")
    return os.path.join(prefix, "bin", "cppd")
