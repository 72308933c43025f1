"""The control socket and cppdctl end to end: the real cppd and cppdctl binaries, real Unix sockets.

Every server listens on 127.0.0.1 port 0 and a control socket in the test's own directory; every load loop is
bounded in count and in time; every process runs with a hard timeout.
"""
import atexit
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from cppdtest import (CPPD, DEFAULT_TIMEOUT, POETRY_DIR, TempDirTestCase, fetch, process_exists, read_text,
                      run_cppd, wait_for)

CPPDCTL = os.environ.get("CPPDCTL_BIN", os.path.join(os.path.dirname(CPPD), "cppdctl"))
ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
LOOPBACK = "tcp:0:interface=127.0.0.1"


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


_shared_ctl = None


def ctl_for_everyone():
    """A copy of cppdctl (and the libcppd beside it, as $ORIGIN/../lib) that another user can run: the build tree
    may sit below a directory only root can enter (a CI checkout in root's home, a 0700 temp dir)."""
    global _shared_ctl
    if _shared_ctl is None:
        top = tempfile.mkdtemp(prefix="cppdctl-")
        atexit.register(shutil.rmtree, top, True)
        os.chmod(top, 0o755)
        for sub in ("bin", "lib"):
            os.mkdir(os.path.join(top, sub), 0o755)
        shutil.copy2(CPPDCTL, os.path.join(top, "bin", "cppdctl"))
        libdir = os.path.join(os.path.dirname(CPPDCTL), "..", "lib")
        for name in os.listdir(libdir):
            if name.startswith("libcppd.so"):
                shutil.copy2(os.path.join(libdir, name), os.path.join(top, "lib", name), follow_symlinks=True)
        _shared_ctl = os.path.join(top, "bin", "cppdctl")
    return _shared_ctl


def ctl(*args, timeout=DEFAULT_TIMEOUT, user=None):
    """Runs cppdctl to completion (as user, a passwd name, when given); returns the CompletedProcess."""
    command = [ctl_for_everyone() if user else CPPDCTL, *args]
    if user:
        entry = pwd.getpwnam(user)
        command = ["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def connect(path, timeout=DEFAULT_TIMEOUT):
    """A connected client; waits (bounded) while the listen backlog is full, as a blocking connect would."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)

    def attempt():
        try:
            s.connect(path)
            return True
        except BlockingIOError:  # EAGAIN: the backlog is full until the daemon accepts
            return False
    try:
        wait_for(attempt, timeout, what=f"a connection to {path}")
    except BaseException:
        s.close()
        raise
    return s


def read_line(s):
    """One reply line (without the newline), or b'' at end of stream."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            return data
        data += chunk
    return data[:-1]


def exchange(path, line):
    with connect(path) as s:
        s.sendall(line + b"\n")
        return json.loads(read_line(s))


class ControlTestCase(TempDirTestCase):
    def start_poetry(self, *runner_args, control="ctl.sock", logfile="cppd.log"):
        self.control = self.path(control)
        server = self.start_server(["--control", self.control, *runner_args, "fastpoetry", "--poem", ECSTASY,
                                    "--port", LOOPBACK], logfile=logfile)
        self.port = server.listening_port()
        server.wait_for_log(r"Control socket listening on ")
        return server


class CommandTest(ControlTestCase):
    def test_status_names_the_daemon_its_files_and_services(self):
        server = self.start_poetry()
        result = ctl("-s", self.control, "--json", "status")
        self.assertEqual(result.returncode, 0, result.stderr)
        reply = json.loads(result.stdout)
        self.assertTrue(reply["ok"])
        status = reply["result"]
        self.assertEqual(status["pid"], server.pid)
        self.assertEqual(status["log_file"], server.logfile)
        self.assertEqual(status["control_socket"], self.control)
        self.assertGreaterEqual(status["uptime"], 0)
        self.assertEqual(status["workers"], [])
        self.assertEqual([s["name"] for s in status["services"]], ["fastpoetry"])
        self.assertEqual(status["services"][0]["endpoints"], [LOOPBACK])
        # The service's connections are counted (the control socket's own are not).
        for _ in range(3):
            fetch("127.0.0.1", self.port)
        def service():
            return json.loads(ctl("-s", self.control, "--json", "status").stdout)["result"]["services"][0]
        served = service()
        self.assertEqual((served["accepted"], served["bytes_sent"], served["errors"]),
                         (3, 3 * os.path.getsize(ECSTASY), 0))
        wait_for(lambda: service()["active"] == 0, what="no connection open")
        human = ctl("-s", self.control, "status")
        self.assertEqual(human.returncode, 0, human.stderr)
        self.assertIn(f"pid: {server.pid}\n", human.stdout)
        self.assertRegex(human.stdout, r"services:\n  - name: fastpoetry\n")

    def test_services_plugins_and_listeners(self):
        self.start_poetry()
        listeners = json.loads(ctl("-s", self.control, "--json", "listeners").stdout)["result"]["listeners"]
        self.assertEqual(len(listeners), 1)
        self.assertEqual(listeners[0]["address"], f"127.0.0.1:{self.port}")
        self.assertEqual(listeners[0]["endpoint"], LOOPBACK)
        plugins = json.loads(ctl("-s", self.control, "--json", "plugins").stdout)["result"]["plugins"]
        self.assertEqual([p["name"] for p in plugins], ["fastpoetry"])
        self.assertTrue(plugins[0]["file"].endswith("fastpoetry.so"), plugins[0])
        services = ctl("-s", self.control, "services")
        self.assertEqual(services.returncode, 0, services.stderr)
        self.assertIn("- name: fastpoetry", services.stdout)

    def test_reopen_reopens_the_log_file(self):
        server = self.start_poetry()
        os.rename(server.logfile, self.path("moved.log"))
        result = ctl("-s", self.control, "reopen")
        self.assertEqual(result.returncode, 0, result.stderr)
        wait_for(lambda: os.path.exists(server.logfile), what="the log file reopened at its path")
        fetch("127.0.0.1", self.port)  # the daemon logs on; the lines go to the new file
        self.assertEqual(server.stop(), 0)
        self.assertIn("Server Shut Down.", read_text(server.logfile))

    def test_stop_waits_until_the_daemon_has_exited(self):
        server = self.start_poetry()
        result = ctl("-s", self.control, "stop")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(f"cppd (PID {server.pid}) stopped", result.stdout)
        self.assertFalse(process_exists(server.pid), "cppdctl stop returned while cppd still ran")
        self.assertEqual(server.proc.wait(DEFAULT_TIMEOUT), 0)
        self.assertFalse(os.path.exists(self.control), "the control socket outlived the daemon")
        self.assertIn("Stop requested on the control socket.", server.log())

    def test_stop_with_a_timeout_gives_up_with_75_while_the_daemon_drains(self):
        poem = self.path("long.txt")
        with open(ECSTASY, "rb") as f:
            text = f.read()
        with open(poem, "wb") as f:
            f.write(text * (16 * 1024 * 1024 // len(text)))
        self.control = self.path("ctl.sock")
        server = self.start_server(["--control", self.control, "fastpoetry", "--poem", poem, "--port", LOOPBACK])
        server.wait_for_log(r"Control socket listening on ")
        with socket.socket() as reader:  # reads nothing: the poem waits in the server, and so does its stop
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader.connect(("127.0.0.1", server.listening_port()))
            server.wait_for_log(r"sending \d+ bytes of poetry")
            began = time.monotonic()
            result = ctl("-s", self.control, "--timeout", "2", "stop")
            self.assertEqual(result.returncode, 75, result.stderr)
            self.assertLess(time.monotonic() - began, DEFAULT_TIMEOUT / 2)
            self.assertIn(f"cppd (PID {server.pid}) is still stopping after --timeout 2 s", result.stderr)
            self.assertTrue(process_exists(server.pid), "the daemon exited: nothing was left to wait for")
        # The reader is gone: the drain ends and so does the stop.
        self.assertEqual(server.proc.wait(DEFAULT_TIMEOUT), 0)

    def test_stop_no_wait_returns_while_stopping(self):
        server = self.start_poetry()
        result = ctl("-s", self.control, "--no-wait", "stop")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("is stopping", result.stdout)
        self.assertEqual(server.proc.wait(DEFAULT_TIMEOUT), 0)

    def test_reload_of_one_process_is_refused_with_exit_1_and_sigusr2_does_not_kill_it(self):
        server = self.start_poetry()
        result = ctl("-s", self.control, "reload")
        self.assertEqual(result.returncode, 1)
        self.assertIn("a reload needs --workers N", result.stderr)
        server.signal(signal.SIGUSR2)
        server.wait_for_log(r"Received SIGUSR2: a reload needs --workers N")
        self.assertIsNone(server.proc.poll())
        self.assertEqual(ctl("-s", self.control, "status").returncode, 0)

    def test_an_unknown_command_or_stray_argument_is_refused_with_exit_1(self):
        self.start_poetry()
        result = ctl("-s", self.control, "frobnicate")
        self.assertEqual(result.returncode, 1)
        self.assertIn("unknown command", result.stderr)
        result = ctl("-s", self.control, "status", "extra")
        self.assertEqual(result.returncode, 1)
        self.assertIn("status takes no arguments", result.stderr)

    def test_worker_commands_are_refused_without_workers(self):
        self.start_poetry()
        for words in (["workers", "add"], ["worker", "kill", "1"]):
            result = ctl("-s", self.control, *words)
            self.assertEqual(result.returncode, 1, words)
            self.assertIn("runs in one process, without workers (start it with --workers N", result.stderr)

    def test_nothing_answering_is_exit_69(self):
        missing = ctl("-s", self.path("none.sock"), "status")
        self.assertEqual(missing.returncode, 69)
        self.assertIn("nothing answers at", missing.stderr)
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(self.path("dead.sock"))  # bound, never listening: connect is refused
        dead.close()
        refused = ctl("-s", self.path("dead.sock"), "status")
        self.assertEqual(refused.returncode, 69)

    def test_bad_command_lines_are_usage_errors(self):
        self.assertEqual(ctl().returncode, 64)
        self.assertEqual(ctl("--bogus", "status").returncode, 64)
        self.assertEqual(ctl("--timeout", "x", "status").returncode, 64)
        result = run_cppd(["--nodaemon", "--control", "/" + "x" * 120, "fastpoetry"], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("option --control", result.stderr)


class SocketFileTest(ControlTestCase):
    def test_a_stale_socket_file_is_replaced(self):
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.path("ctl.sock"))
        stale.close()
        self.start_poetry()
        self.assertEqual(ctl("-s", self.control, "status").returncode, 0)

    def test_a_live_socket_means_another_server(self):
        live = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        live.bind(self.path("ctl.sock"))
        live.listen(8)
        try:
            result = run_cppd(["--nodaemon", "--pidfile=", "--logfile", self.path("cppd.log"), "--control",
                               self.path("ctl.sock"), "fastpoetry", "--poem", ECSTASY, "--port", LOOPBACK],
                              cwd=self.tmp)
            self.assertEqual(result.returncode, 75, result.stderr)
            self.assertIn("Another cppd server is running", result.stderr)
            self.assertTrue(os.path.exists(self.path("ctl.sock")), "the live socket was removed")
            self.assertNotIn("starting on", read_text(self.path("cppd.log")), "a port was bound")
        finally:
            live.close()

    def test_a_failed_start_leaves_no_control_socket(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            result = run_cppd(["--nodaemon", "--pidfile=", "--logfile", self.path("cppd.log"), "--control",
                               self.path("ctl.sock"), "fastpoetry", "--poem", ECSTASY, "--port",
                               f"tcp:{port}:interface=127.0.0.1"], cwd=self.tmp)
        self.assertNotEqual(result.returncode, 0, result.stderr)
        self.assertIn("address already in use", result.stderr)
        self.assertIn("Control socket listening on", read_text(self.path("cppd.log")))
        self.assertFalse(os.path.exists(self.path("ctl.sock")), "the failed start left its control socket")

    def test_a_file_that_is_not_a_socket_is_never_removed(self):
        self.write("ctl.sock", "precious")
        result = run_cppd(["--nodaemon", "--pidfile=", "--logfile", self.path("cppd.log"), "--control",
                           self.path("ctl.sock"), "fastpoetry", "--poem", ECSTASY, "--port", LOOPBACK], cwd=self.tmp)
        self.assertEqual(result.returncode, 73, result.stderr)
        self.assertIn("not a socket", result.stderr)
        self.assertEqual(read_text(self.path("ctl.sock")), "precious")

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges to nobody")
    def test_the_socket_is_0600_and_owned_by_the_user_after_the_drop(self):
        nobody = pwd.getpwnam("nobody")
        own = self.path("run")
        os.mkdir(own)
        os.chown(own, nobody.pw_uid, nobody.pw_gid)  # the user can remove its socket at exit
        server = self.start_poetry("-u", "nobody", control="run/ctl.sock")
        info = os.lstat(self.control)
        self.assertEqual(info.st_mode & 0o777, 0o600)
        self.assertEqual((info.st_uid, info.st_gid), (nobody.pw_uid, nobody.pw_gid))
        self.assertEqual(ctl("-s", self.control, "status", user="nobody").returncode, 0)
        other = ctl("-s", self.control, "status", user="daemon")
        self.assertEqual(other.returncode, 77, other.stderr)
        self.assertIn("Permission denied", other.stderr)
        self.assertEqual(server.stop(), 0)
        self.assertFalse(os.path.exists(self.control))

    @unittest.skipUnless(os.geteuid() == 0, "needs root to drop privileges to nobody")
    def test_a_socket_the_user_may_not_remove_is_reported_and_replaced_next_time(self):
        server = self.start_poetry("-u", "nobody", control="ctl.sock")  # in a directory only root may write
        self.assertEqual(server.stop(), 0)
        self.assertIn("Could not remove control socket", server.log())
        self.assertIn("Permission denied", server.log())
        again = self.start_poetry(control="ctl.sock", logfile="again.log")  # cppd.log is nobody's now
        self.assertEqual(ctl("-s", self.control, "status").returncode, 0)
        self.assertEqual(again.stop(), 0)
        self.assertFalse(os.path.exists(self.control))

    def test_a_daemon_gets_a_control_socket_beside_its_pidfile(self):
        log = self.path("daemon.log")
        result = run_cppd(["--pidfile", self.path("cppd.pid"), "--logfile", log, "fastpoetry", "--poem", ECSTASY,
                           "--port", LOOPBACK], cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        pid = int(read_text(self.path("cppd.pid")))
        try:
            control = self.path("cppd.ctl")
            self.assertEqual(os.lstat(control).st_mode & 0o777, 0o600)
            status = json.loads(ctl("-s", control, "--json", "status").stdout)["result"]
            self.assertEqual(status["pid"], pid)
            self.assertEqual(status["pidfile"], self.path("cppd.pid"))
            stop = ctl("-s", control, "stop")
            self.assertEqual(stop.returncode, 0, stop.stderr)
            self.assertFalse(process_exists(pid))
            self.assertFalse(os.path.exists(self.path("cppd.pid")))
            self.assertFalse(os.path.exists(control))
        finally:
            if process_exists(pid):
                os.kill(pid, signal.SIGKILL)

    def test_a_deployment_files_cppd_table_sets_the_control_socket(self):
        config = self.write("two.toml", f"""[cppd]
control = "two.ctl"

[[service]]
plugin = "fastpoetry"
name = "first"
port = "{LOOPBACK}"
poem = "{ECSTASY}"

[[service]]
plugin = "fastpoetry"
name = "second"
port = "{LOOPBACK}"
poem = "{ECSTASY}"
""")
        server = self.start_server(["-y", config])
        server.wait_for_log(r"Control socket listening on ")
        result = ctl("-s", self.path("two.ctl"), "--json", "services")
        self.assertEqual(result.returncode, 0, result.stderr)
        services = json.loads(result.stdout)["result"]["services"]
        self.assertEqual([(s["name"], s["plugin"]) for s in services],
                         [("first", "fastpoetry"), ("second", "fastpoetry")])
        self.assertEqual(server.stop(), 0)

    def test_nodaemon_has_no_control_socket_unless_asked(self):
        server = self.start_server(["fastpoetry", "--poem", ECSTASY, "--port", LOOPBACK])
        server.listening_port()
        self.assertEqual(server.stop(), 0)
        self.assertNotIn("Control socket", server.log())
        self.assertEqual(sorted(os.listdir(self.tmp)), ["cppd.log"])


class HostileClientTest(ControlTestCase):
    def test_malformed_requests_get_an_error_and_the_connection_goes_on(self):
        self.start_poetry()
        with connect(self.control) as s:
            for bad in (b"garbage", b'{"command": "status", "x": 1}', b'{"command": "st\xffatus"}',
                        b'{"command": "status"} trailing', b'[[[[[[[[[[[[[[[[[[[[[[[[', b'{"command": "\\ud800"}',
                        b'{"command": "status", "command": "stop"}', b'{"command": 1}'):
                s.sendall(bad + b"\n")
                reply = json.loads(read_line(s))
                self.assertFalse(reply["ok"], bad)
                self.assertTrue(reply["error"], bad)
            s.sendall(b'\r\n\n{"command": "status"}\r\n')
            self.assertTrue(json.loads(read_line(s))["ok"])

    def test_a_huge_line_is_refused_and_closed(self):
        self.start_poetry()
        with connect(self.control) as s:
            try:
                s.sendall(b"x" * (1 << 20))
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed while we were still sending: also fine
            reply = read_line(s)
            self.assertIn(b"longer than 4096 bytes", reply)
            try:
                self.assertEqual(read_line(s), b"")
            except ConnectionResetError:
                pass  # closed with our unread bytes still queued: the kernel resets, after the reply arrived

    def test_a_flood_of_stalled_and_malformed_clients_never_disturbs_serving(self):
        server = self.start_poetry()
        poem = read_bytes(ECSTASY)
        held = []
        try:
            for _ in range(200):  # stalled: connect and say nothing
                held.append(connect(self.control))
            refused = 0
            for s in held[64:]:
                line = read_line(s)
                if b"too many control clients" in line:
                    refused += 1
            self.assertEqual(refused, 200 - 64)
            deadline = time.monotonic() + 10
            fetched = 0
            while fetched < 100 and time.monotonic() < deadline:  # served meanwhile, every poem complete
                self.assertEqual(fetch("127.0.0.1", self.port), poem)
                fetched += 1
            self.assertEqual(fetched, 100)
            # A stalled client is closed at its deadline (10 s here, which would be all this test's time: the
            # unit test control_server_test proves it with a short one).
        finally:
            for s in held:
                s.close()
        # Their slots are free again once the daemon has seen them close; then 100 bad requests, each on a new
        # connection, are answered as bad requests.
        wait_for(lambda: ctl("-s", self.control, "status").returncode == 0, what="the control slots to be free")
        for _ in range(100):
            reply = exchange(self.control, b"{bad")
            self.assertFalse(reply["ok"])
            self.assertNotIn("too many", reply["error"])
        self.assertEqual(ctl("-s", self.control, "status").returncode, 0)
        self.assertEqual(fetch("127.0.0.1", self.port), poem)
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
