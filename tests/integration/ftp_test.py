"""ftp end to end: the real cppd binary serving real FTP clients (curl, Python's ftplib and lftp) on loopback.

Every server listens on port 0 (read back from the log); every client has a timeout; every loop is bounded.
"""
import concurrent.futures
import ftplib
import hashlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest

import jail_race
from cppdtest import DEFAULT_TIMEOUT, TempDirTestCase, read_text, run_cppd, wait_for

LOOPBACK = "tcp:0:interface=127.0.0.1"
# Runner options every ftp server of these tests starts with (the one place for them).
# The tests run as root (CI) and serve files they own: say so, as the runner demands of a file server.
RUNNER_ARGS = ["--allow-root"]
CURL = shutil.which("curl")
LFTP = shutil.which("lftp")
OPENSSL = shutil.which("openssl")
# Every lftp script starts with these: one try only, a short network timeout, stop at the first failing command.
LFTP_SETTINGS = ("set ftp:passive-mode on; set net:max-retries 1; set net:timeout 10; set cmd:fail-exit yes; "
                 "set xfer:clobber on")


def crypt_hash(password):
    """A sha512crypt hash, as a user would make it for --password-file."""
    if OPENSSL:
        return subprocess.run([OPENSSL, "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True,
                              check=True, timeout=DEFAULT_TIMEOUT).stdout.strip()
    import crypt  # deprecated since 3.11, still present
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Control:
    """A raw control connection, for what client libraries will not send."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT)
        self.buffer = b""
        self.greeting = self.reply()

    def send(self, raw):
        self.sock.sendall(raw)

    def reply(self):
        """One complete (possibly multi-line) reply, as bytes."""
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                data = self.sock.recv(65536)
                if not data:
                    raise AssertionError(f"connection closed; got {lines!r} {self.buffer!r}")
                self.buffer += data
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line)
            if re.match(rb"^\d{3} ", lines[0]) or (len(lines) > 1 and line[:4] == lines[0][:3] + b" "):
                return b"\r\n".join(lines)

    def command(self, raw):
        self.send(raw if raw.endswith(b"\n") else raw + b"\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


class FtpTest(TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.root = self.path("root")
        os.makedirs(os.path.join(self.root, "pub", "sub"))
        self.write("root/pub/hello.txt", b"hello, ftp\n")
        self.write("root/top.txt", b"0123456789" * 100)
        self.write("secret.txt", b"outside the root\n")
        os.symlink(self.path("secret.txt"), os.path.join(self.root, "pub", "escape.txt"))
        os.symlink(self.tmp, os.path.join(self.root, "updir"))

    def start_ftp(self, *args, logfile="cppd.log", runner_args=()):
        server = self.start_server([*RUNNER_ARGS, *runner_args, "ftp", "--port", LOOPBACK, "--root", self.root, *args],
                                   logfile=logfile)
        return server, server.listening_port()

    def ftp(self, port, user="anonymous", password="test@example.com"):
        client = ftplib.FTP()
        client.connect("127.0.0.1", port, timeout=DEFAULT_TIMEOUT)
        client.login(user, password)
        self.addCleanup(client.close)
        return client

    def user_server(self, *args):
        self.write("users.passwd", f"# test users\nalice:{crypt_hash('wonderland')}\n")
        return self.start_ftp("--password-file", self.path("users.passwd"), *args)

    def curl(self, *args):
        return subprocess.run([CURL, "--silent", "--show-error", "--max-time", "20", *args], capture_output=True,
                              timeout=DEFAULT_TIMEOUT + 10)

    def lftp(self, port, script, user=None, password=None, passive=True, succeed=True):
        """Runs an lftp -c script against the server (anonymous unless user is given), with a hard timeout.

        Checks that the script succeeds (or fails, with succeed=False); returns its stdout (stderr when failing).
        HOME points into the test's directory, so no ~/.lftprc, bookmarks or history take part."""
        login = f"-u {user},{password} " if user else ""
        mode = "" if passive else "set ftp:passive-mode off; "
        env = dict(os.environ, HOME=self.tmp, XDG_CONFIG_HOME=self.path(".config"),
                   XDG_DATA_HOME=self.path(".local"), XDG_CACHE_HOME=self.path(".cache"))
        command = f"{LFTP_SETTINGS}; {mode}open {login}ftp://127.0.0.1:{port}; {script}"
        result = subprocess.run([LFTP, "-c", command], cwd=self.tmp, env=env, stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=DEFAULT_TIMEOUT + 10)
        stderr = result.stderr.decode(errors="replace")
        if not succeed:
            self.assertNotEqual(result.returncode, 0, f"lftp -c {command!r} succeeded")
            return stderr
        self.assertEqual(result.returncode, 0, f"lftp -c {command!r}:\n{stderr}")
        return result.stdout.decode()

    def assertSameFile(self, got, expected):
        with open(got, "rb") as g, open(expected, "rb") as e:
            self.assertEqual(g.read(), e.read(), got)

    @unittest.skipUnless(CURL, "curl is not installed")
    def test_curl_downloads_with_epsv_pasv_and_active_mode_and_lists_directories(self):
        server, port = self.start_ftp()
        url = f"ftp://127.0.0.1:{port}/pub/hello.txt"
        for mode in ([], ["--ftp-pasv", "--disable-epsv"], ["--ftp-port", "127.0.0.1"]):
            with self.subTest(mode=mode):
                result = self.curl(*mode, url)
                self.assertEqual(result.returncode, 0, result.stderr)
                self.assertEqual(result.stdout, b"hello, ftp\n")
        listing = self.curl("--ftp-pasv", "--disable-epsv", f"ftp://127.0.0.1:{port}/pub/")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertRegex(listing.stdout.decode(), r"(?m)^-rw-r--r-- .* 11 \w{3} .* hello\.txt\r?$")
        self.assertRegex(listing.stdout.decode(), r"(?m)^drwx.* sub\r?$")
        self.assertNotIn("escape.txt", listing.stdout.decode())  # points outside the root: not listed
        names = self.curl("--list-only", f"ftp://127.0.0.1:{port}/pub/")
        self.assertEqual(sorted(names.stdout.decode().split()), ["hello.txt", "sub"])
        log = server.log()
        self.assertRegex(log, r"\[FtpSession,\d+,127\.0\.0\.1\] connection from IPv4Address\(TCP, '127\.0\.0\.1'")
        self.assertRegex(log, r"\[FtpSession,\d+,127\.0\.0\.1\] anonymous login")
        self.assertRegex(log, r"\[FtpSession,\d+,127\.0\.0\.1\] RETR /pub/hello\.txt \(11 bytes from offset 0\): "
                              r"11 bytes, complete")

    @unittest.skipUnless(CURL, "curl is not installed")
    def test_curl_resumes_a_partial_download(self):
        server, port = self.start_ftp()
        partial = self.write("partial.txt", b"0123456789" * 42)
        result = self.curl("-C", "-", "-o", partial, f"ftp://127.0.0.1:{port}/top.txt")
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(partial, "rb") as f:
            self.assertEqual(f.read(), b"0123456789" * 100)
        self.assertIn("RETR /top.txt (580 bytes from offset 420)", server.log())

    @unittest.skipUnless(LFTP, "lftp is not installed")
    def test_lftp_lists_anonymously_with_ls_and_cls(self):
        server, port = self.start_ftp()
        listing = self.lftp(port, "ls pub")
        self.assertRegex(listing, r"(?m)^-rw-r--r-- .* 11 \w{3} .* hello\.txt\r?$")
        self.assertRegex(listing, r"(?m)^drwx.* sub\r?$")
        self.assertNotIn("escape.txt", listing)
        self.assertEqual(sorted(self.lftp(port, "cls -1 pub").split()), ["pub/hello.txt", "pub/sub/"])
        self.assertEqual(sorted(self.lftp(port, "cd pub; cls -1").split()), ["hello.txt", "sub/"])
        self.assertEqual(self.lftp(port, "cls -1 --size --block-size=1 top.txt").split(), ["1000", "top.txt"])
        self.assertRegex(server.log(), r"\[FtpSession,\d+,127\.0\.0\.1\] anonymous login")

    @unittest.skipUnless(LFTP, "lftp is not installed")
    def test_lftp_gets_mirrors_and_resumes(self):
        data = os.urandom(300 << 10)
        self.write("root/pub/data.bin", data)
        self.write("root/pub/sub/deep.txt", b"deep\n")
        os.makedirs(os.path.join(self.root, "pub", "sub", "empty"))
        os.utime(os.path.join(self.root, "pub", "sub", "deep.txt"), (1583298367, 1583298367))  # 2020-03-04 05:06:07Z
        server, port = self.start_ftp()
        os.makedirs(self.path("out"))
        # lftp asks for PASV on IPv4 unless told to prefer EPSV; this get takes EPSV, the others PASV.
        self.lftp(port, f"set ftp:prefer-epsv yes; get pub/data.bin -o {self.path('out', 'data.bin')}")
        self.assertSameFile(self.path("out", "data.bin"), os.path.join(self.root, "pub", "data.bin"))
        # mirror: every regular file arrives byte for byte; what points outside the root does not come along.
        self.lftp(port, f"mirror pub {self.path('mirror')}")
        copied = sorted(os.path.relpath(os.path.join(d, f), self.path("mirror"))
                        for d, _, files in os.walk(self.path("mirror")) for f in files)
        self.assertEqual(copied, ["data.bin", "hello.txt", os.path.join("sub", "deep.txt")])
        for name in copied:
            self.assertSameFile(self.path("mirror", name), os.path.join(self.root, "pub", name))
        self.assertTrue(os.path.isdir(self.path("mirror", "sub", "empty")))
        # The times lftp read from MLSD's modify fact (UTC) are the files' own.
        self.assertEqual(os.path.getmtime(self.path("mirror", "sub", "deep.txt")), 1583298367)
        # get -c: a partly downloaded file is completed from where it stopped.
        partial = self.write("out/partial.bin", data[:100000])
        self.lftp(port, f"get -c pub/data.bin -o {partial}")
        self.assertSameFile(partial, os.path.join(self.root, "pub", "data.bin"))
        self.assertIn(f"RETR /pub/data.bin ({len(data) - 100000} bytes from offset 100000)", server.log())

    @unittest.skipUnless(LFTP, "lftp is not installed")
    def test_lftp_password_file_user_puts_makes_moves_and_removes(self):
        server, port = self.user_server()
        upload = self.write("upload.bin", os.urandom(200 << 10))
        self.lftp(port, f"put {upload} -o upload.bin; mkdir newdir; mv upload.bin newdir/moved.bin",
                  "alice", "wonderland")
        moved = os.path.join(self.root, "newdir", "moved.bin")
        self.assertSameFile(moved, upload)
        self.assertFalse(os.path.exists(os.path.join(self.root, "upload.bin")))
        self.assertEqual(self.lftp(port, "cls -1 newdir", "alice", "wonderland").split(), ["newdir/moved.bin"])
        self.lftp(port, "rm newdir/moved.bin; rmdir newdir", "alice", "wonderland")
        self.assertFalse(os.path.exists(os.path.join(self.root, "newdir")))
        log = server.log()
        self.assertRegex(log, r"\[FtpSession,\d+,127\.0\.0\.1\] user 'alice' logged in")
        self.assertIn(f"STOR /upload.bin: {200 << 10} bytes, complete", log)
        # A failing command fails the script (cmd:fail-exit): the wrong password, and rmdir of what is gone.
        self.assertIn("530", self.lftp(port, "ls", "alice", "wrong", succeed=False))
        self.assertIn("550", self.lftp(port, "rmdir newdir", "alice", "wonderland", succeed=False))

    @unittest.skipUnless(LFTP, "lftp is not installed")
    def test_lftp_gets_in_active_mode(self):
        server, port = self.start_ftp()
        os.makedirs(self.path("out"))
        trace = self.path("lftp.trace")
        self.lftp(port, f"debug -o {trace} 5; get top.txt -o {self.path('out', 'top.txt')}; ls pub", passive=False)
        self.assertSameFile(self.path("out", "top.txt"), os.path.join(self.root, "top.txt"))
        # The server connected back to lftp (EPRT or PORT); no passive data connection was asked for.
        self.assertRegex(read_text(trace), r"(?m)^---> (EPRT|PORT) ")
        self.assertNotRegex(read_text(trace), r"(?m)^---> (EPSV|PASV)")
        # Logged as the transfer ends: it leaves with that loop iteration's batch, so wait for it.
        server.wait_for_log(re.escape("RETR /top.txt (1000 bytes from offset 0): 1000 bytes, complete"))

    def test_ftplib_browses_and_downloads_anonymously(self):
        server, port = self.start_ftp()
        client = self.ftp(port)
        self.assertEqual(client.pwd(), "/")
        # A symlink leading out of the root ("updir") is not listed.
        self.assertEqual(sorted(client.nlst()), ["pub", "top.txt"])
        facts = dict(client.mlsd("pub"))
        self.assertEqual(facts["hello.txt"]["type"], "file")
        self.assertEqual(facts["hello.txt"]["size"], "11")
        self.assertEqual(facts["sub"]["type"], "dir")
        self.assertEqual(client.size("top.txt"), 1000)
        self.assertRegex(client.sendcmd("MDTM top.txt"), r"^213 \d{14}$")
        self.assertTrue(client.sendcmd("MLST /top.txt").startswith("250-"))
        chunks = []
        client.retrbinary("RETR top.txt", chunks.append, rest=995)
        self.assertEqual(b"".join(chunks), b"56789")
        client.cwd("pub")
        self.assertEqual(client.pwd(), "/pub")
        client.cwd("sub")
        client.sendcmd("CDUP")
        self.assertEqual(client.pwd(), "/pub")
        with self.assertRaises(ftplib.error_perm) as caught:
            client.cwd("nowhere")
        self.assertTrue(str(caught.exception).startswith("550"))
        self.assertEqual(client.sendcmd("SYST"), "215 UNIX Type: L8")
        self.assertEqual(client.sendcmd("TYPE I")[:3], "200")
        self.assertEqual(client.sendcmd("MODE S")[:3], "200")
        self.assertEqual(client.sendcmd("STRU F")[:3], "200")
        self.assertEqual(client.sendcmd("OPTS UTF8 ON")[:3], "200")
        self.assertTrue(client.sendcmd("STAT").startswith("211-"))
        self.assertIn("hello.txt", client.sendcmd("STAT /pub"))
        self.assertIn("IPv4Address(TCP, '127.0.0.1'", server.log())
        client.quit()

    def test_a_password_file_user_writes_renames_and_removes(self):
        server, port = self.user_server()
        with self.assertRaises(ftplib.error_perm) as caught:
            self.ftp(port, "alice", "wrong")
        self.assertTrue(str(caught.exception).startswith("530"))
        client = self.ftp(port, "alice", "wonderland")
        data = os.urandom(3 << 20)
        client.storbinary("STOR upload.bin", io.BytesIO(data))
        with open(os.path.join(self.root, "upload.bin"), "rb") as f:
            self.assertEqual(f.read(), data)
        client.storbinary("APPE upload.bin", io.BytesIO(b"tail"))
        self.assertEqual(client.size("upload.bin"), len(data) + 4)
        self.assertEqual(client.mkd("newdir"), "/newdir")
        self.assertTrue(os.path.isdir(os.path.join(self.root, "newdir")))
        client.rename("upload.bin", "newdir/moved.bin")
        self.assertTrue(os.path.isfile(os.path.join(self.root, "newdir", "moved.bin")))
        self.assertEqual(client.nlst("newdir"), ["moved.bin"])
        client.delete("newdir/moved.bin")
        client.rmd("newdir")
        self.assertFalse(os.path.exists(os.path.join(self.root, "newdir")))
        # Deleting a symlink that points outside removes the link, never its target.
        client.delete("pub/escape.txt")
        self.assertTrue(os.path.exists(self.path("secret.txt")))
        with self.assertRaises(ftplib.error_perm):
            client.sendcmd("RNTO nothing")  # 503: no RNFR before
        client.quit()
        log = server.log()
        self.assertRegex(log, r"\[FtpSession,\d+,127\.0\.0\.1\] failed login for user 'alice'")
        self.assertRegex(log, r"\[FtpSession,\d+,127\.0\.0\.1\] user 'alice' logged in")
        self.assertIn(f"STOR /upload.bin: {len(data)} bytes, complete", log)

    def test_anonymous_users_cannot_write(self):
        server, port = self.start_ftp()
        client = self.ftp(port)
        with self.assertRaises(ftplib.error_perm) as caught:
            client.storbinary("STOR new.txt", io.BytesIO(b"x"))
        self.assertTrue(str(caught.exception).startswith("553"))
        for command in ("APPE top.txt", "STOR top.txt"):
            self.assertTrue(client.sendcmd("PASV").startswith("227"))
            with self.assertRaises(ftplib.error_perm) as caught:
                client.sendcmd(command)
            self.assertTrue(str(caught.exception).startswith("553"), command)
        for command in ("DELE top.txt", "MKD made", "RMD pub/sub", "RNFR top.txt"):
            with self.assertRaises(ftplib.error_perm) as caught:
                client.sendcmd(command)
            self.assertTrue(str(caught.exception).startswith("550"), command)
        self.assertFalse(os.path.exists(os.path.join(self.root, "new.txt")))
        self.assertFalse(os.path.exists(os.path.join(self.root, "made")))
        self.assertTrue(os.path.isdir(os.path.join(self.root, "pub", "sub")))
        self.assertEqual(os.path.getsize(os.path.join(self.root, "top.txt")), 1000)
        client.quit()

    def test_escape_attempts_never_reach_a_file_outside_the_root(self):
        server, port = self.user_server()
        client = self.ftp(port, "alice", "wonderland")
        for name in ("../secret.txt", "/../secret.txt", "../../../../secret.txt", "pub/../../secret.txt",
                     "pub/escape.txt", "updir/secret.txt", "%2e%2e/secret.txt", "..\\secret.txt"):
            with self.subTest(name=name):
                chunks = []
                with self.assertRaises(ftplib.error_perm):
                    client.retrbinary(f"RETR {name}", chunks.append)
                self.assertEqual(chunks, [])
                with self.assertRaises(ftplib.error_perm):
                    client.size(name)
        client.cwd("../../..")
        self.assertEqual(client.pwd(), "/")
        with self.assertRaises(ftplib.error_perm):
            client.cwd("updir")
        with self.assertRaises(ftplib.error_perm):
            client.storbinary("STOR updir/planted.txt", io.BytesIO(b"x"))
        with self.assertRaises(ftplib.error_perm):
            client.storbinary("STOR pub/escape.txt", io.BytesIO(b"overwritten"))  # a symlink is not followed
        with self.assertRaises(ftplib.error_perm):
            client.rename("top.txt", "updir/stolen.txt")
        self.assertFalse(os.path.exists(self.path("planted.txt")))
        self.assertFalse(os.path.exists(self.path("stolen.txt")))
        with open(self.path("secret.txt"), "rb") as f:
            self.assertEqual(f.read(), b"outside the root\n")
        client.quit()
        # A NUL byte in a path is refused, and the session goes on.
        control = Control(port)
        control.command(b"USER anonymous")
        self.assertTrue(control.command(b"PASS x").startswith(b"230"))
        self.assertTrue(control.command(b"SIZE top.txt\x00/../../secret.txt").startswith(b"501"))
        self.assertTrue(control.command(b"CWD /\x00..").startswith(b"501"))
        self.assertEqual(control.command(b"NOOP")[:3], b"200")
        control.close()

    @staticmethod
    def peak_rss_kib(pid):
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))

    def test_a_100_mib_file_arrives_byte_for_byte_with_bounded_memory(self):
        big = os.path.join(self.root, "big.bin")
        block = os.urandom(1 << 20)
        with open(big, "wb") as f:
            for i in range(100):
                f.write(bytes([i]) + block[1:])
        server, port = self.start_ftp()
        client = self.ftp(port)
        # The bound is on what the transfer adds to the server's peak (a sanitizer build starts far bigger): holding
        # the 100 MiB file, or any large part of it, would exceed it.
        baseline = self.peak_rss_kib(server.pid)
        digest = hashlib.sha256()
        received = [0]

        def consume(chunk):
            digest.update(chunk)
            received[0] += len(chunk)
        client.retrbinary("RETR big.bin", consume, blocksize=1 << 20)
        self.assertEqual(received[0], 100 << 20)
        self.assertEqual(digest.hexdigest(), sha256_file(big))
        peak = self.peak_rss_kib(server.pid)
        self.assertLess(peak - baseline, 48 * 1024, f"the server held the file in memory (peak {peak} KiB, "
                                                    f"{baseline} KiB before the transfer)")
        client.quit()

    def test_many_clients_at_once(self):
        # All clients come from 127.0.0.1: lift the per-address limit (24 at once are more than its default).
        server, port = self.start_ftp("--max-clients-per-address", "0")

        def session(i):
            client = ftplib.FTP()
            client.connect("127.0.0.1", port, timeout=DEFAULT_TIMEOUT)
            try:
                client.login()
                chunks = []
                client.retrbinary("RETR top.txt" if i % 2 else "RETR pub/hello.txt", chunks.append)
                names = client.nlst("pub")
                client.quit()
                return b"".join(chunks), sorted(names)
            finally:
                client.close()

        with concurrent.futures.ThreadPoolExecutor(max_workers=24) as pool:
            results = list(pool.map(session, range(96)))
        for i, (data, names) in enumerate(results):
            self.assertEqual(data, b"0123456789" * 100 if i % 2 else b"hello, ftp\n")
            self.assertEqual(names, ["hello.txt", "sub"])

    def test_malformed_command_lines_are_answered_and_the_session_goes_on(self):
        server, port = self.start_ftp()
        control = Control(port)
        self.assertTrue(control.greeting.startswith(b"220"))
        self.assertTrue(control.command(b"PWD").startswith(b"530"))     # not logged in
        self.assertTrue(control.command(b"PASS x").startswith(b"503"))  # no USER before
        self.assertTrue(control.command(b"").startswith(b"501"))
        self.assertTrue(control.command(b"USER " + b"a" * 100000).startswith(b"501"))  # overlong
        self.assertTrue(control.command(b"USER \xe9t\xe9").startswith(b"501"))        # not UTF-8
        self.assertTrue(control.command(b"HELLO world").startswith(b"501"))
        self.assertTrue(control.command(b"XYZZ").startswith(b"502"))
        self.assertTrue(control.command(b"USER anonymous\n").startswith(b"331"))  # a bare LF ends a line too
        self.assertTrue(control.command(b"PASS me@example.com").startswith(b"230"))
        self.assertTrue(control.command(b"TYPE Q").startswith(b"504"))
        self.assertTrue(control.command(b"PORT 1,2,3").startswith(b"501"))
        self.assertTrue(control.command(b"PORT 10,9,8,7,100,100").startswith(b"504"))  # not the client's address
        self.assertTrue(control.command(b"REST abc").startswith(b"501"))
        self.assertTrue(control.command(b"RETR top.txt").startswith(b"425"))  # no data connection set up
        # Many commands in one packet are answered in order.
        control.send(b"NOOP\r\nPWD\r\nNOOP\r\n")
        self.assertEqual([control.reply()[:3] for _ in range(3)], [b"200", b"257", b"200"])
        self.assertTrue(control.command(b"QUIT").startswith(b"221"))
        control.close()
        self.assertIsNone(server.proc.poll())

    def test_abort_and_a_vanishing_client_leave_the_server_and_the_session_usable(self):
        with open(os.path.join(self.root, "big.bin"), "wb") as f:
            f.truncate(256 << 20)
        server, port = self.start_ftp()
        client = self.ftp(port)
        client.voidcmd("TYPE I")
        data = client.transfercmd("RETR big.bin")
        data.recv(65536)
        resp = client.abort()
        self.assertIn(resp[:3], ("426", "225", "226"))
        if resp.startswith("426"):
            self.assertTrue(client.getresp().startswith("226"))
        data.close()
        self.assertEqual(client.size("top.txt"), 1000)  # the control connection still works
        # The client drops the data connection mid-transfer: 426, and the session goes on.
        data = client.transfercmd("RETR big.bin")
        data.recv(65536)
        data.close()
        with self.assertRaises(ftplib.error_temp) as caught:
            client.voidresp()
        self.assertTrue(str(caught.exception).startswith("426"))
        chunks = []
        client.retrbinary("RETR pub/hello.txt", chunks.append)
        self.assertEqual(b"".join(chunks), b"hello, ftp\n")
        # The whole client vanishes mid-transfer: the server carries on serving others.
        data = client.transfercmd("RETR big.bin")
        data.recv(65536)
        client.close()
        data.close()
        wait_for(lambda: len(re.findall(r"RETR /big\.bin .*: failed: ", server.log())) >= 2 and
                 "session ended" in server.log(), what="the dropped transfer to be logged")
        self.assertEqual(self.ftp(port).size("top.txt"), 1000)
        self.assertIsNone(server.proc.poll())

    def test_max_clients_idle_timeout_passive_ports_and_no_anonymous(self):
        server, port = self.start_ftp("--max-clients", "1", "--idle-timeout", "0.5", "--passive-ports",
                                      "40000-40100", "--no-anonymous")
        first = Control(port)
        self.assertTrue(first.greeting.startswith(b"220"))
        second = Control(port)
        self.assertTrue(second.greeting.startswith(b"421"))
        second.close()
        self.assertTrue(first.command(b"USER anonymous").startswith(b"530"))
        # Idle for longer than --idle-timeout: the server says so and hangs up.
        self.assertTrue(first.reply().startswith(b"421"))
        first.close()
        self.write("users.passwd", f"alice:{crypt_hash('pw')}\n")
        server.stop()
        server, port = self.start_ftp("--passive-ports", "40000-40100", "--password-file", self.path("users.passwd"),
                                      logfile="second.log")
        client = self.ftp(port, "alice", "pw")
        reply = client.sendcmd("EPSV")
        data_port = int(re.search(r"\|\|\|(\d+)\|", reply).group(1))
        self.assertTrue(40000 <= data_port <= 40100, reply)
        client.quit()

    def test_a_stop_lets_a_transfer_finish_and_tells_an_idle_session_421_at_the_deadline(self):
        big = os.urandom(1 << 20) * 8  # 8 MiB: far more than the socket buffers hold, so it is still being sent
        self.write("root/big.bin", big)
        server, port = self.start_ftp(runner_args=["--shutdown-timeout", "2"])
        downloading = self.ftp(port)
        downloading.voidcmd("TYPE I")
        data = downloading.transfercmd("RETR big.bin")
        self.addCleanup(data.close)
        received = bytearray(data.recv(65536))
        idle = Control(port)
        self.addCleanup(idle.close)
        self.assertTrue(idle.command(b"USER anonymous").startswith(b"331"))
        self.assertTrue(idle.command(b"PASS guest@").startswith(b"230"))
        anonymous = Control(port)  # connected, not logged in: nothing in flight
        self.addCleanup(anonymous.close)
        server.signal(signal.SIGTERM)
        server.wait_for_log(rf"\(TCP Port {port} Closed\)")
        started = time.monotonic()
        # A session with no login has no work to finish: it is told at once.
        self.assertEqual(anonymous.reply(), b"421 Service shutting down: closing control connection.")
        self.assertEqual(anonymous.sock.recv(1), b"")
        # The transfer in progress completes, and its session goes on, but takes no new login.
        while len(received) < len(big):
            chunk = data.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        data.close()
        self.assertEqual(len(received), len(big))
        self.assertTrue(received == big, "the transfer is not byte for byte")
        self.assertTrue(downloading.voidresp().startswith("226"))
        self.assertEqual(downloading.sendcmd("NOOP"), "200 NOOP ok.")
        with self.assertRaises(ftplib.error_temp) as refused:
            downloading.sendcmd("USER alice")
        self.assertEqual(str(refused.exception), "421 Service shutting down: not accepting new logins.")
        # The idle session goes on until the deadline, then hears why it is closed before the close.
        self.assertEqual(idle.reply(), b"421 Service shutting down: closing control connection.")
        self.assertGreater(time.monotonic() - started, 1)
        self.assertEqual(idle.sock.recv(1), b"")
        self.assertEqual(server.proc.wait(DEFAULT_TIMEOUT), 70)  # a forced stop, by itself
        self.assertIn("Shutdown forced (the shutdown timeout of 2s expired)", server.log())

    def test_a_directory_swapped_with_a_symlink_out_leaks_nothing(self):
        # A hostile local user exchanges root/swap with a symlink to a directory outside, as fast as the kernel
        # allows, while clients read, write, list, change into and delete through root/swap.
        outside = self.path("outside")
        jail_race.make_tree(self.root, outside)
        server, port = self.user_server()
        tally, exchanges, problems = jail_race.race(self.root, outside, port, "alice", "wonderland", seconds=5)
        self.assertEqual(tally.escapes, [])
        self.assertEqual(problems, [])
        self.assertGreater(exchanges, 1000, "the swapper hardly ran")
        self.assertGreater(tally.inside_reads, 0, "no RETR reached the real directory: the race was not exercised")
        self.assertGreater(tally.operations, 100)
        # A symlink out answers exactly as a missing file, so nothing outside can be probed.
        client = self.ftp(port, "alice", "wonderland")
        for command in ("SIZE", "MDTM"):
            with self.assertRaises(ftplib.error_perm) as missing:
                client.sendcmd(f"{command} pub/no-such-file.txt")
            with self.assertRaises(ftplib.error_perm) as escaped:
                client.sendcmd(f"{command} pub/escape.txt")
            self.assertEqual(str(escaped.exception), str(missing.exception).replace("no-such-file", "escape"))
        for name in ("pub/escape.txt", "updir/secret.txt"):
            with self.assertRaises(ftplib.error_perm) as escaped:
                client.retrbinary(f"RETR {name}", lambda _: None)
            self.assertEqual(str(escaped.exception), f"550 {name}: No such file or directory.")

    def test_a_fifo_in_the_root_blocks_no_one(self):
        os.mkfifo(os.path.join(self.root, "fifo"))
        server, port = self.user_server()
        writer = Control(port)
        writer.command(b"USER alice")
        self.assertEqual(writer.command(b"PASS wonderland")[:3], b"230")
        for command in (b"STOR fifo", b"APPE fifo", b"RETR fifo"):
            with self.subTest(command=command):
                self.assertEqual(writer.command(b"PASV")[:3], b"227")
                self.assertRegex(writer.command(command), rb"^55[03] fifo: not a regular file\.$")
        self.assertEqual(writer.command(b"SIZE fifo"), b"550 fifo: not a regular file.")
        self.assertEqual(writer.command(b"MDTM fifo")[:3], b"213")
        # Another client is served all along.
        other = self.ftp(port)
        self.assertIn("fifo", other.nlst())
        self.assertEqual(other.sendcmd("NOOP")[:3], "200")
        writer.close()

    def test_names_with_cr_lf_are_never_listed_and_quotes_are_doubled(self):
        forged = "evil\r\n226 forged.txt"
        for name in (forged, "line\nbreak.txt", "cr\rname.txt", 'quo"te.txt'):
            self.write(os.path.join("root", "names", name), b"x")
        server, port = self.user_server()
        client = self.ftp(port, "alice", "wonderland")
        self.assertEqual(client.nlst("names"), ['quo"te.txt'])
        lines = []
        client.retrlines("LIST names", lines.append)
        self.assertEqual(len(lines), 1, lines)
        self.assertTrue(lines[0].endswith(' quo"te.txt'), lines)
        self.assertEqual([name for name, _ in client.mlsd("names")], ['quo"te.txt'])
        # MKD and PWD double embedded quotes (RFC 959 appendix II), which ftplib's parse257 undoes.
        self.assertEqual(client.mkd('new"dir'), '/new"dir')
        self.assertEqual(client.sendcmd('MKD a"b"c'), '257 "/a""b""c" created.')
        client.cwd('new"dir')
        self.assertEqual(client.pwd(), '/new"dir')
        self.assertEqual(client.sendcmd("PWD"), '257 "/new""dir" is the current directory.')
        client.quit()
        # STAT's 213 listing travels on the control connection: no name may end it early.
        control = Control(port)
        control.command(b"USER anonymous")
        control.command(b"PASS x")
        status = control.command(b"STAT /names")
        self.assertTrue(status.startswith(b"213-") and status.endswith(b"213 End of status."), status)
        self.assertNotIn(b"forged", status)
        self.assertEqual(control.command(b"NOOP"), b"200 NOOP ok.")
        self.assertEqual(control.command(b"MLST /names/" + 'quo"te.txt'.encode())[:4], b"250-")
        control.close()

    def test_rest_is_bounded_by_the_file_and_failed_uploads_leave_no_debris(self):
        server, port = self.user_server()
        client = self.ftp(port, "alice", "wonderland")
        top = os.path.join(self.root, "top.txt")
        for offset in (9000000000000, 9999999999999999999, 1001):
            with self.subTest(offset=offset):
                with self.assertRaises(ftplib.error_perm) as refused:
                    client.storbinary("STOR new.txt", io.BytesIO(b"x"), rest=offset)
                self.assertTrue(str(refused.exception).startswith("554 Restart offset"), refused.exception)
                self.assertFalse(os.path.exists(os.path.join(self.root, "new.txt")), "a refused STOR left a file")
                with self.assertRaises(ftplib.error_perm):
                    client.storbinary("STOR top.txt", io.BytesIO(b"x"), rest=offset)
                self.assertEqual(os.path.getsize(top), 1000)
                with self.assertRaises(ftplib.error_perm) as refused:
                    client.retrbinary("RETR top.txt", lambda _: None, rest=offset)
                self.assertTrue(str(refused.exception).startswith("554 "), refused.exception)
        # REST up to the end continues the file.
        client.storbinary("STOR top.txt", io.BytesIO(b"tail"), rest=1000)
        self.assertEqual(os.path.getsize(top), 1004)
        client.storbinary("STOR top.txt", io.BytesIO(b"head"), rest=0)
        self.assertEqual(os.path.getsize(top), 4)
        # An upload abandoned before its data connection leaves nothing behind; an empty upload is kept.
        control = Control(port)
        control.command(b"USER alice")
        control.command(b"PASS wonderland")
        self.assertEqual(control.command(b"PASV")[:3], b"227")
        control.send(b"STOR abandoned.txt\r\n")
        wait_for(lambda: "STOR /abandoned.txt" in server.log() or os.path.exists(self.path("root", "abandoned.txt")),
                 what="the STOR to be received")
        self.assertEqual(control.command(b"ABOR")[:3], b"426")
        self.assertEqual(control.reply()[:3], b"226")
        self.assertFalse(os.path.exists(os.path.join(self.root, "abandoned.txt")))
        control.close()
        client.storbinary("STOR empty.txt", io.BytesIO(b""))
        self.assertEqual(os.path.getsize(os.path.join(self.root, "empty.txt")), 0)


    def test_startup_errors_name_the_bad_option(self):
        missing = self.path("missing")
        result = run_cppd(["--nodaemon", "--pidfile=", "ftp", "--port", LOOPBACK, "--root", missing], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn(f"--root {missing}: No such file or directory", result.stderr)
        result = run_cppd(["--nodaemon", "--pidfile=", "ftp", "--port", LOOPBACK, "--root",
                           os.path.join(self.root, "top.txt")], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("not a directory", result.stderr)
        bad = self.write("bad.passwd", f"alice:{crypt_hash('x')}\nbob\n")
        result = run_cppd(["--nodaemon", "--pidfile=", "--logfile", self.path("start.log"), "--allow-root", "ftp",
                           "--port", LOOPBACK, "--root", self.root, "--password-file", bad], cwd=self.tmp)
        self.assertNotEqual(result.returncode, 0)
        shown = result.stdout + result.stderr + read_text(self.path("start.log"))
        self.assertIn(f"password file {bad} line 2: expected 'user:crypt-hash'", shown)
        result = run_cppd(["--nodaemon", "--pidfile=", "ftp", "--port", LOOPBACK, "--root", self.root,
                           "--passive-ports", "9-5"], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("--passive-ports '9-5'", result.stderr)


if __name__ == "__main__":
    unittest.main()
