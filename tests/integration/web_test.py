"""cppd web end to end: the real binary serving a per-test directory to curl and to raw sockets on 127.0.0.1.

Every server listens on port 0 (read back from the log); every client has a timeout; nothing sleeps to wait.
"""
import email.utils
import hashlib
import os
import re
import signal
import socket
import subprocess
import time
import unittest

from cppdtest import DEFAULT_TIMEOUT, TempDirTestCase, read_text, run_cppd, wait_for

LOOPBACK = "tcp:0:interface=127.0.0.1"


def curl(*args, timeout=60):
    """Runs curl with a hard timeout; returns the CompletedProcess (bytes)."""
    return subprocess.run(["curl", "-sS", "--max-time", str(timeout - 5), *args], capture_output=True,
                          timeout=timeout)


class RawClient:
    """A raw socket to the server that reads HTTP responses itself (so malformed requests can be sent)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT)
        self.buffer = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the server closed the connection")
        self.buffer += data

    def response(self, head_request=False):
        """Reads one response: (status, headers dict with lower-case names, body)."""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_request or status == 304 else int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def rest_until_closed(self):
        """What the server sends until it closes its end cleanly (a reset fails the test)."""
        while True:
            data = self.sock.recv(65536)
            if not data:
                rest, self.buffer = self.buffer, b""
                return rest
            self.buffer += data

    def closed_by_server(self):
        """True once the server has closed its end (after whatever was left to read)."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buffer += data
        except ConnectionResetError:
            return True


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def get(path, host="x"):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


class WebCase(TempDirTestCase):
    """A document root per test and the one place a web server is started (flags every server needs go here)."""

    def setUp(self):
        super().setUp()
        self.root = self.path("root")
        os.makedirs(os.path.join(self.root, "docs"))
        os.makedirs(os.path.join(self.root, "empty"))
        self.write("root/index.html", "<h1>home</h1>\n")
        self.write("root/hello.txt", "hello, world\n")
        self.write("root/style.css", "body{}\n")
        self.write("root/docs/guide.json", '{"a": 1}\n')
        self.write("root/empty/<b>&\"quote\".txt", "x")
        self.write("outside.txt", "SECRET\n")
        self.digits = bytes(range(256)) * 400  # 102400 bytes: served with sendFile
        self.write("root/digits.bin", self.digits)

    def start_web(self, *args, root=None, preexec_fn=None):
        # The tests run as root (CI) and serve files they own: say so, as the runner demands of a file server.
        server = self.start_server(["--allow-root", "web", "--port", LOOPBACK, "--path", root or self.root, *args],
                                   preexec_fn=preexec_fn)
        self.port = server.listening_port()
        return server

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def raw(self):
        client = RawClient(self.port)
        self.addCleanup(client.close)
        return client

    def request(self, data, head_request=False):
        client = self.raw()
        client.send(data)
        return client.response(head_request)


class WebTest(WebCase):

    # Files and headers.

    def test_a_file_is_served_with_type_length_date_last_modified_and_etag(self):
        self.start_web()
        status, headers, body = self.request(get("/hello.txt"))
        self.assertEqual(status, 200)
        self.assertEqual(body, b"hello, world\n")
        self.assertEqual(headers["content-type"], "text/plain; charset=utf-8")
        self.assertEqual(headers["content-length"], "13")
        self.assertRegex(headers["etag"], r'^"[0-9a-f]+-[0-9a-f]+"$')
        mtime = int(os.stat(os.path.join(self.root, "hello.txt")).st_mtime)
        self.assertEqual(email.utils.parsedate_to_datetime(headers["last-modified"]).timestamp(), mtime)
        self.assertLess(abs(email.utils.parsedate_to_datetime(headers["date"]).timestamp() - time.time()), 5)
        self.assertEqual(self.request(get("/style.css"))[1]["content-type"], "text/css; charset=utf-8")
        self.assertEqual(self.request(get("/docs/guide.json"))[1]["content-type"], "application/json")
        self.assertEqual(self.request(get("/digits.bin"))[1]["content-type"], "application/octet-stream")

    def test_head_has_the_headers_of_get_and_no_body(self):
        self.start_web()
        client = self.raw()
        client.send(b"HEAD /digits.bin HTTP/1.1\r\nHost: x\r\n\r\n" + get("/hello.txt"))
        status, headers, _ = client.response(head_request=True)
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-length"], str(len(self.digits)))
        # The next response starts right after the HEAD's headers: no body bytes in between.
        status, _, body = client.response()
        self.assertEqual((status, body), (200, b"hello, world\n"))

    def test_a_missing_file_is_404_and_other_methods_405_with_allow(self):
        self.start_web()
        self.assertEqual(self.request(get("/nope.html"))[0], 404)
        self.assertEqual(self.request(get("/hello.txt/"))[0], 404)
        status, headers, _ = self.request(b"POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        self.assertEqual(status, 405)
        self.assertEqual(headers["allow"], "GET, HEAD")
        self.assertEqual(self.request(b"DELETE /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")[0], 405)

    # Conditional requests and ranges.

    def test_if_none_match_and_if_modified_since_answer_304(self):
        self.start_web()
        _, headers, _ = self.request(get("/hello.txt"))
        etag, modified = headers["etag"], headers["last-modified"]
        for extra in (f"If-None-Match: {etag}", f'If-None-Match: "x", W/{etag}', "If-None-Match: *",
                      f"If-Modified-Since: {modified}"):
            with self.subTest(extra=extra):
                status, h, body = self.request(f"GET /hello.txt HTTP/1.1\r\nHost: x\r\n{extra}\r\n\r\n".encode())
                self.assertEqual(status, 304)
                self.assertEqual(body, b"")
                self.assertEqual(h["etag"], etag)
        old = "Sat, 01 Jan 2000 00:00:00 GMT"
        for extra in ('If-None-Match: "other"', f"If-Modified-Since: {old}", "If-Modified-Since: garbage",
                      f'If-None-Match: "other"\r\nIf-Modified-Since: {modified}'):
            with self.subTest(extra=extra):
                status, _, body = self.request(f"GET /hello.txt HTTP/1.1\r\nHost: x\r\n{extra}\r\n\r\n".encode())
                self.assertEqual((status, body), (200, b"hello, world\n"))

    def test_a_single_range_is_206_and_an_unsatisfiable_one_416(self):
        self.start_web()
        size = len(self.digits)
        cases = [("bytes=0-9", 0, 9), ("bytes=100-", 100, size - 1), ("bytes=-10", size - 10, size - 1),
                 ("bytes=50000-60000", 50000, 60000), ("bytes=5-999999999", 5, size - 1)]
        for header, first, last in cases:
            with self.subTest(range=header):
                status, headers, body = self.request(
                    f"GET /digits.bin HTTP/1.1\r\nHost: x\r\nRange: {header}\r\n\r\n".encode())
                self.assertEqual(status, 206)
                self.assertEqual(headers["content-range"], f"bytes {first}-{last}/{size}")
                self.assertEqual(body, self.digits[first:last + 1])
        status, headers, body = self.request(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=2-4\r\n\r\n")
        self.assertEqual((status, body), (206, b"llo"))
        for header in (f"bytes={size}-", "bytes=-0"):
            with self.subTest(range=header):
                status, headers, _ = self.request(
                    f"GET /digits.bin HTTP/1.1\r\nHost: x\r\nRange: {header}\r\n\r\n".encode())
                self.assertEqual(status, 416)
                self.assertEqual(headers["content-range"], f"bytes */{size}")
        for header in ("bytes=0-1,5-6", "bytes=9-3", "items=0-1", "bytes=abc"):
            with self.subTest(range=header):
                status, _, body = self.request(f"GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: {header}\r\n\r\n".encode())
                self.assertEqual((status, body), (200, b"hello, world\n"))
        result = curl("-r", "1000-1999", self.url("/digits.bin"))
        self.assertEqual(result.stdout, self.digits[1000:2000])

    def test_if_range_with_a_stale_validator_sends_the_whole_file(self):
        self.start_web()
        status, _, body = self.request(
            b'GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nIf-Range: "stale"\r\n\r\n')
        self.assertEqual((status, body), (200, b"hello, world\n"))

    # Directories.

    def test_a_directory_redirects_to_its_slash_then_serves_its_index_or_a_listing(self):
        self.start_web()
        status, headers, _ = self.request(get("/docs?x=1"))
        self.assertEqual(status, 301)
        self.assertEqual(headers["location"], "/docs/?x=1")
        self.assertEqual(self.request(get("/"))[2], b"<h1>home</h1>\n")
        status, headers, body = self.request(get("/docs/"))
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "text/html; charset=utf-8")
        self.assertIn(b'<a href="guide.json">guide.json</a>', body)
        status, _, body = self.request(get("/empty/"))
        self.assertIn(b"&lt;b&gt;&amp;&quot;quote&quot;.txt", body)
        self.assertIn(b'href="%3Cb%3E%26%22quote%22.txt"', body)
        self.assertNotIn(b"<b>&", body)

    def test_no_listing_forbids_directories_without_an_index_and_index_picks_the_file(self):
        self.start_web("--no-listing", "--index", "guide.json")
        self.assertEqual(self.request(get("/empty/"))[0], 403)
        self.assertEqual(self.request(get("/docs/"))[2], b'{"a": 1}\n')

    # The jail.

    def test_traversal_encoded_slashes_nul_bytes_and_symlinks_out_never_leave_the_root(self):
        os.symlink(self.path("outside.txt"), os.path.join(self.root, "link-out"))
        os.symlink("../outside.txt", os.path.join(self.root, "docs", "relative-out"))
        os.symlink(self.tmp, os.path.join(self.root, "dir-out"))
        os.symlink("hello.txt", os.path.join(self.root, "link-in"))
        self.start_web()
        attempts = ["/../outside.txt", "/%2e%2e/outside.txt", "/%2E%2E/outside.txt", "/docs/../../outside.txt",
                    "/docs/%2e%2e/%2e%2e/outside.txt", "/..%2foutside.txt", "/%2e%2e%2foutside.txt",
                    "/docs%2f..%2f..%2foutside.txt", "/hello.txt%00.html", "/link-out", "/docs/relative-out",
                    "/dir-out/outside.txt", "/dir-out/", "/..", "/%2e%2e"]
        for path in attempts:
            with self.subTest(path=path):
                status, _, body = self.request(get(path))
                self.assertIn(status, (400, 403, 404))
                self.assertNotIn(b"SECRET", body)
        self.assertEqual(self.request(get("/link-in"))[2], b"hello, world\n")  # a symlink inside is fine
        result = curl("--path-as-is", self.url("/../outside.txt"))
        self.assertNotIn(b"SECRET", result.stdout)

    def test_a_listing_does_not_tell_whether_a_symlink_out_leads_to_a_directory(self):
        os.makedirs(os.path.join(self.root, "listed"))
        os.symlink(self.tmp, os.path.join(self.root, "listed", "dir-out"))
        os.symlink("../docs", os.path.join(self.root, "listed", "dir-in"))
        os.symlink(self.path("outside.txt"), os.path.join(self.root, "listed", "file-out"))
        self.start_web()
        status, _, body = self.request(get("/listed/"))
        self.assertEqual(status, 200)
        self.assertIn(b'<a href="dir-in/">dir-in/</a>', body)  # inside the root: resolved, a directory
        # Outside the root: shown exactly as a name that leads nowhere, whatever it is out there.
        self.assertIn(b'<a href="dir-out">dir-out</a>', body)
        self.assertIn(b'<a href="file-out">file-out</a>', body)

    # Connections.

    def test_pipelined_requests_are_answered_in_order_on_one_connection(self):
        self.start_web()
        client = self.raw()
        paths = ["/hello.txt", "/nope", "/style.css", "/digits.bin", "/docs", "/index.html"] * 5
        client.send(b"".join(get(p) for p in paths))
        expected = {"/hello.txt": 200, "/nope": 404, "/style.css": 200, "/digits.bin": 200, "/docs": 301,
                    "/index.html": 200}
        for path in paths:
            status, _, body = client.response()
            self.assertEqual(status, expected[path], path)
            if path == "/digits.bin":
                self.assertEqual(body, self.digits)

    def test_requests_sent_one_byte_at_a_time_are_answered(self):
        self.start_web()
        client = self.raw()
        for byte in get("/hello.txt") + get("/style.css"):
            client.send(bytes([byte]))
        self.assertEqual(client.response()[2], b"hello, world\n")
        self.assertEqual(client.response()[2], b"body{}\n")

    def test_keep_alive_connection_close_and_http_1_0(self):
        self.start_web()
        client = self.raw()
        for _ in range(3):
            client.send(get("/hello.txt"))
            status, headers, _ = client.response()
            self.assertEqual(status, 200)
            self.assertNotIn("connection", headers)
        client.send(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(client.response()[1]["connection"], "close")
        self.assertTrue(client.closed_by_server())
        old = self.raw()
        old.send(b"GET /hello.txt HTTP/1.0\r\n\r\n")
        status, headers, body = old.response()
        self.assertEqual((status, body), (200, b"hello, world\n"))
        self.assertEqual(headers["connection"], "close")
        self.assertTrue(old.closed_by_server())
        old = self.raw()
        old.send(b"GET /digits.bin HTTP/1.0\r\n\r\n")
        self.assertEqual(old.response()[2], self.digits)  # a file sent with sendFile, then the close
        self.assertTrue(old.closed_by_server())
        kept = self.raw()
        kept.send(b"GET /hello.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual(kept.response()[1]["connection"], "keep-alive")
        kept.send(b"GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual(kept.response()[2], b"body{}\n")

    def test_malformed_requests_get_400_or_505_and_the_connection_closes(self):
        self.start_web()
        for data in (b"GARBAGE\r\n\r\n", b"GET /hello.txt HTTP/1.1\r\nHost x\r\n\r\n", b"GET /a b c\r\n\r\n",
                     b"GET /hello.txt HTTP/1.1\r\n\r\n", b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
                     b"GET /hello.txt HTTP/9.9\r\nHost: x\r\n\r\n"):
            with self.subTest(data=data):
                client = self.raw()
                client.send(data + get("/hello.txt"))
                status, headers, _ = client.response()
                self.assertEqual(status, 505 if b"HTTP/9.9" in data else 400)
                self.assertEqual(headers["connection"], "close")
                self.assertTrue(client.closed_by_server())
                self.assertEqual(client.buffer, b"", "something was answered after the 400")

    def test_a_request_line_without_an_http_version_is_refused_when_it_ends(self):
        # http_parser took the line ends after "H" for the "TTP/" of a version and waited for more: whatever the
        # client sent next would have been read as part of this request.
        self.start_web()
        for data in (b"GET //docs H\n\r\n", b"GET /hello.txt H\r\n\r\n",
                     b"GET /hello.txt HTXP/1.1\r\nHost: x\r\n\r\n", b"GET /hello.txt HTTP/1.1\r\nHost: a b\r\n\r\n"):
            with self.subTest(data=data):
                client = self.raw()
                client.send(data)
                status, headers, _ = client.response()
                self.assertEqual((status, headers["connection"]), (400, "close"))
                self.assertTrue(client.closed_by_server())

    def test_a_target_too_long_is_414_and_headers_too_large_431(self):
        self.start_web()
        client = self.raw()
        client.send(get("/" + "a" * 9000))
        status, headers, _ = client.response()
        self.assertEqual((status, headers["connection"]), (414, "close"))
        self.assertTrue(client.closed_by_server())
        client = self.raw()
        client.send(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n" + b"X-Big: " + b"b" * 20000 + b"\r\n\r\n")
        status, headers, _ = client.response()
        self.assertEqual((status, headers["connection"]), (431, "close"))
        self.assertTrue(client.closed_by_server())
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
        client = self.raw()
        client.send(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        self.assertEqual(client.response()[0], 431)

    def test_a_refusal_reaches_a_client_that_is_still_sending_its_request(self):
        """A 431 goes out as soon as the headers are too large, while the client is still sending them. Closing
        with unread input would make the kernel send a reset that destroys the 431 (curl: "Connection reset by
        peer"); the server half-closes and drops the rest instead, as nginx's lingering close does."""
        self.start_web()
        headers = os.path.join(self.tmp, "headers.txt")
        with open(headers, "w") as f:
            f.write("X-Big: " + "b" * 100_000 + "\n")
        for _ in range(5):
            result = curl("-o", os.devnull, "-w", "%{http_code}", "-H", "@" + headers, self.url("/hello.txt"))
            self.assertEqual(result.stdout, b"431", result.stderr)
        for _ in range(3):
            client = self.raw()
            client.send(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (4 << 20) + b"\r\n\r\n")
            status, response_headers, _ = client.response()
            self.assertEqual((status, response_headers["connection"]), (431, "close"))
            self.assertTrue(client.closed_by_server())

    def test_idle_keep_alive_connections_are_closed_after_the_timeout(self):
        self.start_web("--keepalive-timeout", "1")
        client = self.raw()
        client.send(get("/hello.txt"))
        self.assertEqual(client.response()[0], 200)
        started = time.monotonic()
        self.assertTrue(client.closed_by_server())
        self.assertLess(time.monotonic() - started, 5)

    # Stopping: a graceful drain, so that no client sends a request into a connection being closed.

    def test_a_stop_answers_requests_still_coming_with_connection_close_and_closes_idle_connections_after_a_grace(
            self):
        server = self.start_web("--drain-grace", "2")  # room for a loaded machine; 1 s by default
        idle, late, pipelined = self.raw(), self.raw(), self.raw()
        for client in (idle, late, pipelined):
            client.send(get("/hello.txt"))
            self.assertEqual(client.response()[0], 200)
        server.signal(signal.SIGTERM)
        server.wait_for_log(rf"\(TCP Port {self.port} Closed\)")  # the stop has begun; the connections are open
        # A keep-alive client sending its next request right after the stop began gets a whole answer that says
        # the connection ends, never a reset.
        late.send(get("/digits.bin"))
        status, headers, body = late.response()
        self.assertEqual((status, headers.get("connection"), body), (200, "close", self.digits))
        self.assertEqual(late.rest_until_closed(), b"")
        # Pipelined requests already sent are all answered; only the last answer closes the connection.
        pipelined.send(get("/hello.txt") + get("/style.css"))
        first, second = pipelined.response(), pipelined.response()
        self.assertEqual((first[0], first[1].get("connection"), first[2]), (200, None, b"hello, world\n"))
        self.assertEqual((second[0], second[1].get("connection"), second[2]), (200, "close", b"body{}\n"))
        self.assertEqual(pipelined.rest_until_closed(), b"")
        # An idle connection that sends nothing is closed cleanly once the grace is over, and the server exits by
        # itself (a second SIGTERM now would force it).
        self.assertEqual(idle.rest_until_closed(), b"")
        self.assertEqual(server.proc.wait(DEFAULT_TIMEOUT), 0, server.log())

    def test_access_log_lines_use_the_common_log_format(self):
        server = self.start_web("--access-log")
        self.request(get("/hello.txt"))
        self.request(get("/nope"))
        server.wait_for_log(r'127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /nope HTTP/1\.1" 404 \d+')
        self.assertRegex(server.log(), r'\] 127\.0\.0\.1 - - \[[^]]+\] "GET /hello\.txt HTTP/1\.1" 200 13\n')

    # Large files.

    def test_a_50_mib_file_is_served_byte_for_byte_with_bounded_memory(self):
        big = os.path.join(self.root, "big.bin")
        block = hashlib.sha256(b"cppd").digest() * 32768  # 1 MiB, not all one byte
        with open(big, "wb") as f:
            for i in range(50):
                f.write(bytes([i]) + block[1:])
        server = self.start_web()
        out = self.path("download.bin")
        result = curl("-o", out, "-w", "%{http_code}", self.url("/big.bin"), timeout=120)
        self.assertEqual(result.stdout, b"200", result.stderr)
        with open(big, "rb") as a, open(out, "rb") as b:
            self.assertEqual(hashlib.sha256(a.read()).digest(), hashlib.sha256(b.read()).digest())
        # Four slow readers of the whole file: sendfile keeps the server's growth far below one copy of it.
        before_kib = rss_kib(server.pid)
        readers = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=DEFAULT_TIMEOUT)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(get("/big.bin"))
            readers.append(s)
        for s in readers:
            s.recv(1024)
        self.assertLess(rss_kib(server.pid) - before_kib, 16 * 1024)
        for s in readers:
            s.close()
        self.assertEqual(self.request(get("/hello.txt"))[0], 200)

    # Start-up errors.

    def test_a_missing_or_non_directory_path_is_a_clear_usage_error(self):
        for path, why in ((self.path("missing"), "No such file or directory"),
                          (self.path("outside.txt"), "not a directory")):
            with self.subTest(path=path):
                result = run_cppd(["--nodaemon", "--pidfile=", "--logfile", self.path("start.log"), "web",
                                   "--port", LOOPBACK, "--path", path], cwd=self.tmp)
                self.assertEqual(result.returncode, 64)
                shown = result.stdout + result.stderr + read_text(self.path("start.log"))
                self.assertIn(f"--path {path}: {why}", shown)
        result = run_cppd(["--nodaemon", "--pidfile=", "web", "--port", LOOPBACK], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("path", result.stderr)


if __name__ == "__main__":
    unittest.main()
