"""ftp against hostile clients: floods, reply injection through file names, password guessing, held resources.

The real cppd binary on loopback, raw sockets for what clients would not send, /proc/PID/status for memory. Every
socket has a timeout and every loop is bounded in count and time.
"""
import ctypes
import os
import re
import signal
import socket
import statistics
import threading
import time
import unittest

from cppdtest import DEFAULT_TIMEOUT, TempDirTestCase, read_text, run_cppd, wait_for

LOOPBACK = "tcp:0:interface=127.0.0.1"


def yescrypt_hash(password, cost=0):
    """A yescrypt hash made by libxcrypt (the Debian default method), cost 0 meaning libxcrypt's default."""
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt.restype = ctypes.c_char_p
    setting = lib.crypt_gensalt(b"$y$", cost, None, 0)
    return lib.crypt(password.encode(), setting).decode()


def peak_rss_kib(pid):
    """The process's peak resident set size (VmHWM), in KiB."""
    match = re.search(r"^VmHWM:\s+(\d+) kB", read_text(f"/proc/{pid}/status"), re.M)
    return int(match.group(1))


class Control:
    """A raw control connection that reads replies only when asked."""

    def __init__(self, port, timeout=DEFAULT_TIMEOUT, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        self.buffer = b""
        self.greeting = self.reply()

    def line(self):
        while b"\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"connection closed; unread {self.buffer!r}")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def reply(self):
        """One complete reply (RFC 959 4.2), as its list of lines."""
        lines = [self.line()]
        if re.match(rb"^\d{3}-", lines[0]):
            while not (lines[-1][:3] == lines[0][:3] and lines[-1][3:4] == b" " and len(lines) > 1):
                lines.append(self.line())
        return lines

    def command(self, text):
        self.sock.sendall(text.encode() + b"\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


class FtpHostileTest(TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.root = self.path("root")
        os.makedirs(os.path.join(self.root, "pub"))
        self.write("root/pub/hello.txt", b"hello, ftp\n")

    def start_ftp(self, *args, logfile="cppd.log", runner_args=()):
        """The one place the server is started. The tests run as root (CI) and serve files they own: say so, as the
        runner demands of a file server."""
        server = self.start_server(["--allow-root", *runner_args, "ftp", "--port", LOOPBACK, "--root", self.root,
                                    *args], logfile=logfile)
        return server, server.listening_port()

    def connect(self, port, **kwargs):
        control = Control(port, **kwargs)
        self.addCleanup(control.close)
        return control

    def users_file(self, cost=0):
        self.write("users.passwd", f"alice:{yescrypt_hash('wonderland', cost)}\n")
        return self.path("users.passwd")

    # -- floods -------------------------------------------------------------------------------------------------

    def flood_while_others_are_served(self, setup, command, total):
        """Sends total bytes of pipelined command lines from a client that never reads, while another client
        sends NOOPs; returns the NOOP latencies. The server's peak RSS must stay bounded and SIGTERM must stop it."""
        many = os.path.join(self.root, "many")
        os.makedirs(many, exist_ok=True)
        for i in range(300):
            self.write(f"root/many/a-rather-long-file-name-to-make-the-listing-line-longer-{i:04}.txt", b"x")
        # A stop lets sessions with a login go on until the shutdown timeout: that, not the flood, bounds the stop.
        server, port = self.start_ftp(runner_args=["--shutdown-timeout", "2"])
        normal = self.connect(port, timeout=5)
        self.assertEqual(normal.command("USER anonymous")[0][:3], b"331")
        self.assertEqual(normal.command("PASS a@b")[0][:3], b"230")
        baseline = peak_rss_kib(server.pid)
        flood = self.connect(port, rcvbuf=4096)
        payload = (setup + (command + "\r\n") * (total // (len(command) + 2))).encode()
        stop = threading.Event()

        def send():
            try:
                for at in range(0, len(payload), 65536):
                    if stop.is_set():
                        return
                    flood.sock.sendall(payload[at:at + 65536])
            except OSError:
                pass  # disconnected by the server, or timed out on a full socket: both end the flood

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        latencies = []
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline and len(latencies) < 40:
            started = time.monotonic()
            try:
                reply = normal.command("NOOP")
            except socket.timeout:
                self.fail(f"NOOP of another client not answered within 5 s during a {command} flood")
            latencies.append(time.monotonic() - started)
            self.assertEqual(reply, [b"200 NOOP ok."])
            time.sleep(0.05)
        peak = peak_rss_kib(server.pid)
        self.assertLess(peak - baseline, 64 * 1024,
                        f"peak RSS grew from {baseline} KiB to {peak} KiB during a {command} flood")
        # A flooded server still stops on SIGTERM, by the shutdown timeout at the latest.
        started = time.monotonic()
        server.signal(signal.SIGTERM)
        try:
            server.proc.wait(10)
        except Exception:
            self.fail(f"the server did not stop within 10 s of SIGTERM during a {command} flood")
        self.assertLess(time.monotonic() - started, 10)
        stop.set()
        sender.join(10)
        return latencies

    def test_a_pipelined_stat_flood_from_a_client_that_never_reads_holds_up_no_one(self):
        latencies = self.flood_while_others_are_served("USER anonymous\r\nPASS x@y\r\n", "STAT many", 3 << 20)
        self.assertLess(statistics.median(latencies), 0.2, latencies)

    def test_a_pipelined_feat_flood_before_login_holds_up_no_one(self):
        latencies = self.flood_while_others_are_served("", "FEAT", 3 << 20)
        self.assertLess(statistics.median(latencies), 0.2, latencies)

    # -- reply injection ----------------------------------------------------------------------------------------

    def test_file_names_with_cr_lf_never_end_a_reply_line_early(self):
        evil = "x\r\n213 End of status.\r\n230 injected"
        os.makedirs(os.path.join(self.root, "pub", "dir"))
        self.write(f"root/pub/dir/{evil}", b"evil")
        self.write("root/pub/dir/lf\n200 also injected", b"evil")
        self.write("root/pub/dir/plain.txt", b"plain")
        server, port = self.start_ftp()
        control = self.connect(port)
        control.command("USER anonymous")
        control.command("PASS a@b")
        status = control.command("STAT pub/dir")
        self.assertEqual(status[0], b"213-Status of /pub/dir:")
        self.assertEqual(status[-1], b"213 End of status.")
        # The first line, the one plain file, the last line: names holding CR or LF are never listed.
        self.assertEqual(len(status), 3, status)
        self.assertTrue(status[1].endswith(b" plain.txt"), status)
        for line in status[1:-1]:
            self.assertNotRegex(line, rb"^\d{3}[ -]")
        # The next reply is the answer to the next command, not an injected one.
        self.assertEqual(control.command("NOOP"), [b"200 NOOP ok."])

    # -- logins -------------------------------------------------------------------------------------------------

    def failed_login_time(self, port, user, tries):
        """Median seconds from PASS to its 530, over tries (a new connection every 2 tries)."""
        times = []
        control = None
        for i in range(tries):
            if i % 2 == 0:
                if control:
                    control.close()
                control = self.connect(port)
            control.command(f"USER {user}")
            started = time.monotonic()
            reply = control.command("PASS wrong")
            times.append(time.monotonic() - started)
            self.assertEqual(reply[0][:3], b"530", reply)
        control.close()
        return statistics.median(times)

    def test_a_known_and_an_unknown_user_take_as_long_to_fail(self):
        server, port = self.start_ftp("--password-file", self.users_file(), "--login-fail-delay", "0",
                                      "--max-login-failures", "0")
        known = self.failed_login_time(port, "alice", 6)
        unknown = self.failed_login_time(port, "mallory", 6)
        self.assertLess(max(known, unknown) / max(min(known, unknown), 1e-6), 3,
                        f"known user {known * 1000:.2f} ms, unknown user {unknown * 1000:.2f} ms")

    def test_an_unknown_user_costs_the_costliest_hash_when_the_users_use_different_methods(self):
        # The first user's cheap MD5 hash must not become the dummy: it would tell a yescrypt user from no user.
        md5 = "$1$saltsalt$4px9i58NU2Z2/vZOUlGjq."  # openssl passwd -1 -salt saltsalt x
        self.write("users.passwd", f"cheap:{md5}\nalice:{yescrypt_hash('wonderland')}\n")
        server, port = self.start_ftp("--password-file", self.path("users.passwd"), "--login-fail-delay", "0",
                                      "--max-login-failures", "0")
        known = self.failed_login_time(port, "alice", 6)
        unknown = self.failed_login_time(port, "mallory", 6)
        self.assertLess(max(known, unknown) / max(min(known, unknown), 1e-6), 3,
                        f"yescrypt user {known * 1000:.2f} ms, unknown user {unknown * 1000:.2f} ms")

    def test_a_wrong_password_is_answered_after_the_delay_and_the_address_is_then_refused(self):
        server, port = self.start_ftp("--password-file", self.users_file(), "--login-fail-delay", "0.5",
                                      "--max-login-failures", "3", "--login-block-time", "60")
        control = self.connect(port)
        control.command("USER alice")
        started = time.monotonic()
        self.assertEqual(control.command("PASS wrong")[0][:3], b"530")
        self.assertGreaterEqual(time.monotonic() - started, 0.45)
        control.command("USER alice")
        self.assertEqual(control.command("PASS wrong")[0][:3], b"530")
        control.command("USER alice")
        self.assertEqual(control.command("PASS wrong")[0][:3], b"421")  # the third failure from this address
        # Refused for --login-block-time, from the moment it connects.
        again = self.connect(port)
        self.assertEqual(again.greeting[0][:3], b"421")
        self.assertIn(b"failed logins", again.greeting[0])
        self.assertIn("too many failed logins", server.log())

    def test_noop_is_answered_while_password_checks_are_in_flight(self):
        # A costly hash (about 8x libxcrypt's default): each check keeps a thread busy for a long while.
        server, port = self.start_ftp("--password-file", self.users_file(cost=8), "--login-fail-delay", "0",
                                      "--max-login-failures", "0")
        normal = self.connect(port, timeout=5)
        guessers = [self.connect(port) for _ in range(5)]
        for guesser in guessers:
            guesser.command("USER alice")
        for guesser in guessers:
            guesser.sock.sendall(b"PASS guess\r\n")
        latencies = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(latencies) < 20:
            started = time.monotonic()
            self.assertEqual(normal.command("NOOP"), [b"200 NOOP ok."])
            latencies.append(time.monotonic() - started)
        # The checks are still in flight after the NOOPs: each PASS is answered only now.
        for guesser in guessers:
            self.assertEqual(guesser.reply()[0][:3], b"530")
        self.assertLess(statistics.median(latencies), 0.05, latencies)

    # -- held resources -----------------------------------------------------------------------------------------

    def test_a_client_that_never_logs_in_is_closed_after_the_login_timeout_despite_noops(self):
        server, port = self.start_ftp("--login-timeout", "0.5")
        control = self.connect(port)
        started = time.monotonic()
        reply = None
        while time.monotonic() - started < 10:
            try:
                reply = control.command("NOOP")
            except ConnectionError:
                break
            if reply[0][:3] == b"421":
                break
            time.sleep(0.05)
        self.assertEqual(reply[0][:3], b"421", reply)
        self.assertLess(time.monotonic() - started, 5)

    def test_connections_per_address_are_limited(self):
        server, port = self.start_ftp("--max-clients-per-address", "2")
        first = self.connect(port)
        second = self.connect(port)
        self.assertEqual(first.greeting[0][:3], b"220")
        self.assertEqual(second.greeting[0][:3], b"220")
        self.assertEqual(self.connect(port).greeting[0][:3], b"421")
        first.command("QUIT")
        wait_for(lambda: self.connect(port).greeting[0][:3] == b"220", what="a slot freed by QUIT")

    def test_a_download_whose_data_connection_is_never_read_is_aborted_after_the_data_timeout(self):
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.truncate(64 << 20)
        server, port = self.start_ftp("--data-timeout", "1")
        control = self.connect(port)
        control.command("USER anonymous")
        control.command("PASS a@b")
        control.command("TYPE I")
        reply = control.command("EPSV")
        data_port = int(re.search(rb"\|\|\|(\d+)\|", reply[0]).group(1))
        data = socket.socket()
        data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        data.connect(("127.0.0.1", data_port))
        self.addCleanup(data.close)
        self.assertEqual(control.command("RETR big.bin")[0][:3], b"150")
        started = time.monotonic()
        self.assertEqual(control.reply()[0][:3], b"426")  # never read: no progress
        self.assertLess(time.monotonic() - started, 8)
        # The log line leaves with its loop iteration's batch, which may be just after the reply.
        wait_for(lambda: "no progress on the data connection" in server.log(), what="the data-timeout log line")
        self.assertEqual(control.command("NOOP"), [b"200 NOOP ok."])

    def test_refused_connections_are_logged_in_aggregate(self):
        server, port = self.start_ftp("--max-clients", "1")
        holder = self.connect(port)
        self.assertEqual(holder.greeting[0][:3], b"220")
        for _ in range(300):
            refused = Control(port)
            self.assertEqual(refused.greeting[0][:3], b"421")
            refused.close()
        server.wait_for_log(r"refused \d+ more connections? in the last second: too many clients")
        lines = [line for line in server.log().splitlines() if "refus" in line]
        self.assertLess(len(lines), 20, "\n".join(lines[:30]))

    def test_listings_of_a_huge_directory_that_are_never_read_hold_no_memory(self):
        huge = os.path.join(self.root, "huge")
        os.makedirs(huge)
        for i in range(60000):
            os.close(os.open(os.path.join(huge, f"a-file-name-long-enough-to-cost-something-{i:06}.dat"),
                             os.O_CREAT | os.O_WRONLY, 0o644))
        # A sanitizer build keeps freed memory in quarantine (256 MiB by default): what is measured here must be
        # what the server holds, not what it has freed.
        asan = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""), "quarantine_size_mb=0"]))
        server = self.start_server(["--allow-root", "ftp", "--port", LOOPBACK, "--root", self.root],
                                   env=dict(os.environ, ASAN_OPTIONS=asan))
        port = server.listening_port()
        baseline = peak_rss_kib(server.pid)
        for _ in range(10):  # --max-clients-per-address: all one address can hold
            control = self.connect(port)
            self.assertEqual(control.command("USER anonymous")[0][:3], b"331")
            self.assertEqual(control.command("PASS a@b")[0][:3], b"230")
            data_port = int(re.search(rb"\|\|\|(\d+)\|", control.command("EPSV")[0]).group(1))
            data = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.addCleanup(data.close)
            data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            data.connect(("127.0.0.1", data_port))  # and never read
            self.assertEqual(control.command("LIST huge")[0][:3], b"150")
        peak = peak_rss_kib(server.pid)
        self.assertLess(peak - baseline, 32 * 1024,
                        f"peak RSS grew from {baseline} KiB to {peak} KiB holding 10 unread listings")

    def test_refused_data_addresses_are_logged_once_per_session_or_passive_port(self):
        server, port = self.start_ftp()
        control = self.connect(port)
        self.assertEqual(control.command("USER anonymous")[0][:3], b"331")
        self.assertEqual(control.command("PASS a@b")[0][:3], b"230")
        control.sock.sendall(b"PORT 10,1,2,3,4,0\r\n" * 500)  # not the client's address: refused every time
        for _ in range(500):
            self.assertEqual(control.reply()[0][:3], b"504")
        reply = control.command("PASV")[0]
        numbers = [int(n) for n in re.search(rb"\((\d+,\d+,\d+,\d+,\d+,\d+)\)", reply).group(1).split(b",")]
        for _ in range(200):  # another host (127.0.0.2 is loopback too) knocks on the passive port
            with socket.create_connection(("127.0.0.1", numbers[4] * 256 + numbers[5]), timeout=5,
                                          source_address=("127.0.0.2", 0)) as knock:
                knock.settimeout(5)
                knock.recv(1)  # closed by the server
        self.assertEqual(control.command("NOOP"), [b"200 NOOP ok."])
        server.wait_for_log(r"refused a data connection from .*127\.0\.0\.2")
        lines = [line for line in server.log().splitlines() if "refused a data connection" in line]
        self.assertLess(len(lines), 5, "\n".join(lines[:10]))

    def test_a_pasv_flood_does_not_grow_the_log_with_every_command(self):
        server, port = self.start_ftp()
        control = self.connect(port)
        self.assertEqual(control.command("USER anonymous")[0][:3], b"331")
        self.assertEqual(control.command("PASS a@b")[0][:3], b"230")
        before = len(server.log().splitlines())
        control.sock.sendall(b"PASV\r\n" * 500)  # each opens a passive port and closes the one before
        for _ in range(500):
            self.assertEqual(control.reply()[0][:3], b"227")
        self.assertEqual(control.command("NOOP"), [b"200 NOOP ok."])
        added = server.log().splitlines()[before:]
        self.assertLess(len(added), 10, "\n".join(added[:12]))

    # -- the password file --------------------------------------------------------------------------------------

    def test_a_password_file_that_is_not_a_small_regular_file_is_refused_by_name(self):
        fifo = self.path("users.fifo")
        os.mkfifo(fifo)
        big = self.write("big.passwd", b"#" * (2 << 20) + b"\n")
        for path, message in ((fifo, "not a regular file"), ("/dev/zero", "not a regular file"),
                              (big, "larger than the limit")):
            result = run_cppd(["--nodaemon", "--pidfile=", "--logfile", self.path("start.log"), "ftp", "--port",
                               LOOPBACK, "--root", self.root, "--password-file", path], cwd=self.tmp, timeout=10)
            self.assertNotEqual(result.returncode, 0)
            shown = result.stdout + result.stderr + read_text(self.path("start.log"))
            self.assertIn(f"password file {path}: {message}", shown)


if __name__ == "__main__":
    unittest.main()
