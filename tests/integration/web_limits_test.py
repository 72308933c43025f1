"""cppd web against slow, idle and greedy clients: the deadlines, the connection limits and slowhttptest.

The real binary on 127.0.0.1, raw sockets and curl. Deadlines are set to a second or two so each test is short;
the sweep that enforces them runs once a second, so a deadline may run up to a second over, and the bounds below
allow for that.
"""
import resource
import shutil
import socket
import subprocess
import time
import unittest

from cppdtest import wait_for
from web_test import RawClient, WebCase, curl, get


def server_side_established(server_port, client_port):
    """True while the kernel holds an established 127.0.0.1 connection from server_port to client_port."""
    wanted = f"0100007F:{server_port:04X} 0100007F:{client_port:04X} 01"
    with open("/proc/net/tcp") as f:
        return any(" ".join(line.split()[1:4]) == wanted for line in f)


class WebDeadlineTest(WebCase):

    def closes_within(self, client, low, high, feed=None):
        """Seconds until the server closes client's connection, asserted to be within [low, high]. feed, if
        given, is called every 0.2 s meanwhile (a client trickling its request)."""
        started = time.monotonic()
        client.sock.settimeout(0.2)
        while time.monotonic() - started < high + 1:
            try:
                if feed is not None:
                    feed()
                data = client.sock.recv(65536)
                if not data:
                    break
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                break
        elapsed = time.monotonic() - started
        self.assertGreaterEqual(elapsed, low)
        self.assertLessEqual(elapsed, high)
        return elapsed

    def test_without_keep_alive_a_connection_that_never_sends_is_still_closed(self):
        self.start_web("--keepalive-timeout", "0", "--header-timeout", "1")
        self.closes_within(self.raw(), 0.5, 3)

    def test_a_head_sent_a_byte_at_a_time_is_cut_off_at_the_header_timeout_whatever_the_keep_alive(self):
        self.start_web("--keepalive-timeout", "30", "--header-timeout", "2")
        client = self.raw()
        client.send(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        self.closes_within(client, 1.5, 4, feed=lambda: client.send(b"a"))

    def test_a_later_request_on_a_kept_alive_connection_has_its_own_header_deadline(self):
        self.start_web("--keepalive-timeout", "30", "--header-timeout", "2")
        client = self.raw()
        client.send(get("/hello.txt"))
        self.assertEqual(client.response()[0], 200)
        client.send(b"GET /hello.txt HTTP/1.1\r\n")
        self.closes_within(client, 1.5, 4, feed=lambda: client.send(b"X: y\r\n"))

    def test_a_body_that_trickles_is_cut_off_at_the_body_timeout(self):
        self.start_web("--header-timeout", "30", "--body-timeout", "2")
        client = self.raw()
        client.send(b"POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        self.closes_within(client, 1.5, 4, feed=lambda: client.send(b"b"))

    def test_a_reader_that_stops_reading_is_closed_at_the_send_timeout(self):
        self.write("root/big.bin", b"\0" * (64 << 20))
        self.start_web("--send-timeout", "1", "--keepalive-timeout", "60")
        sock = socket.socket()
        self.addCleanup(sock.close)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", self.port))
        sock.sendall(get("/big.bin"))
        sock.recv(1)  # the answer has started; from now on nothing is read
        started = time.monotonic()
        client_port = sock.getsockname()[1]
        self.assertTrue(server_side_established(self.port, client_port))
        wait_for(lambda: not server_side_established(self.port, client_port), timeout=10,
                 what="the server to close the stalled connection")
        self.assertGreaterEqual(time.monotonic() - started, 0.5)


class WebConnectionLimitTest(WebCase):

    def test_at_the_limit_the_longest_idle_keep_alive_connection_makes_room_for_a_new_client(self):
        self.start_web("--max-connections", "2")
        first, second = self.raw(), self.raw()
        for client in (first, second):
            client.send(get("/hello.txt"))
            self.assertEqual(client.response()[0], 200)
        result = curl("-o", "/dev/null", "-w", "%{http_code}", self.url("/hello.txt"))
        self.assertEqual(result.stdout, b"200", result.stderr)
        self.assertTrue(first.closed_by_server())
        second.send(get("/hello.txt"))
        self.assertEqual(second.response()[0], 200)

    def test_at_the_limit_with_every_connection_busy_a_new_client_gets_503_with_retry_after(self):
        self.write("root/big.bin", b"\0" * (64 << 20))
        self.start_web("--max-connections", "1")
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        busy.connect(("127.0.0.1", self.port))
        busy.sendall(get("/big.bin"))
        busy.recv(1)  # the answer has started: the connection is sending, not waiting
        result = curl("-sS", "-i", self.url("/hello.txt"))
        head = result.stdout.split(b"\r\n\r\n")[0].decode()
        self.assertRegex(head, r"^HTTP/1.1 503 ", result.stderr)
        self.assertIn("\r\nRetry-After: 1", head)
        self.assertIn("\r\nConnection: close", head)

    def test_a_client_address_over_its_limit_gets_503(self):
        self.start_web("--max-connections-per-address", "2")
        first, second = self.raw(), self.raw()
        for client in (first, second):
            client.send(get("/hello.txt"))
            self.assertEqual(client.response()[0], 200)
        self.assertEqual(self.request(get("/hello.txt"))[0], 503)
        first.close()
        wait_for(lambda: self.request(get("/hello.txt"))[0] == 200, what="served once a connection closed")

    def test_the_default_limit_follows_the_descriptor_limit_so_new_clients_are_still_served(self):
        # 512 descriptors (the runner may raise the soft limit to the hard one, so both are set): 600 idle
        # keep-alive connections would exhaust them; the limit derived from them closes the oldest instead.
        server = self.start_web(preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512)))
        limit = int(server.wait_for_log(r"at most (\d+) connections \(from the descriptor limit\)").group(1))
        self.assertLess(limit, 256)
        clients = []
        for _ in range(600):
            client = RawClient(self.port)
            self.addCleanup(client.close)
            client.sock.settimeout(5)
            client.send(get("/hello.txt"))
            self.assertEqual(client.response()[0], 200)
            clients.append(client)
        started = time.monotonic()
        result = curl("-o", "/dev/null", "-w", "%{http_code}", self.url("/hello.txt"), timeout=10)
        self.assertEqual(result.stdout, b"200", result.stderr)
        self.assertLess(time.monotonic() - started, 1)


@unittest.skipIf(shutil.which("slowhttptest") is None, "slowhttptest is not installed (cmake/install-deps.sh)")
class WebSlowClientTest(WebCase):
    """slowhttptest holds twice as many slow connections as the server allows, for a few seconds; a normal client
    is served within a second all the while. The longer run is tests/stress/web_slow_clients_stress.py."""

    def attack_while_serving(self, mode_args, seconds=6):
        self.start_web("--max-connections", "50", "--header-timeout", "2", "--body-timeout", "2", "--send-timeout",
                       "2")
        attack = subprocess.Popen(["slowhttptest", *mode_args, "-c", "100", "-r", "50", "-i", "1", "-l",
                                   str(seconds), "-u", self.url("/hello.txt")], cwd=self.tmp,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: attack.poll() is None and (attack.kill(), attack.wait()))
        served = 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and attack.poll() is None:
            started = time.monotonic()
            result = curl("-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1", self.url("/hello.txt"),
                          timeout=10)
            self.assertEqual(result.stdout, b"200", f"not served at {started - deadline + seconds:.1f} s: "
                             f"{result.stderr!r}")
            self.assertLess(time.monotonic() - started, 1)
            served += 1
            time.sleep(0.2)  # pacing of the normal client, not synchronisation
        attack.wait(timeout=seconds + 30)
        self.assertGreater(served, 5)

    def test_slow_headers_do_not_keep_a_normal_client_out(self):
        self.attack_while_serving(["-H"])

    def test_slow_bodies_do_not_keep_a_normal_client_out(self):
        self.attack_while_serving(["-B", "-s", "100000"])


if __name__ == "__main__":
    unittest.main()
