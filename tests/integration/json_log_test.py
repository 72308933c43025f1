"""--log-format json end to end: the real cppd serving web and ftp to hostile clients, the log read back line by line.

Every line must parse with Python's json module (strictly: no NaN, no duplicate keys), carry time, level, system
and text first, and the access and login/transfer events must hold what the client sent, byte for byte, with a
byte that is not UTF-8 as "\\xHH" (Python's "backslashreplace"). Port 0 read back; every wait bounded.
"""
import ftplib
import io
import json
import os
import re
import socket
import subprocess
import time
import unittest

from cppdtest import CPPD, DEFAULT_TIMEOUT, TempDirTestCase, read_text, wait_for
from ftp_test import crypt_hash

LOOPBACK = "tcp:0:interface=127.0.0.1"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")


def strict_object(line):
    """The object one log line holds; fails on anything json.loads would take that a strict reader would not."""
    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate keys in {line!r}")
        return dict(pairs)

    def no_constant(name):
        raise ValueError(f"{name} in {line!r}")
    return json.loads(line, object_pairs_hook=no_duplicates, parse_constant=no_constant)


def sent(raw):
    """What a field must hold for bytes a client sent."""
    return raw.decode("utf-8", "backslashreplace")


class JsonLogCase(TempDirTestCase):

    def events(self, text):
        """Every line of a JSON log as an object, checking the members every line has."""
        self.assertTrue(text == "" or text.endswith("\n"), "the log ends mid-line")
        events = []
        for line in text.split("\n")[:-1]:
            try:
                event = strict_object(line)
            except ValueError as e:
                self.fail(f"a log line is not strict JSON ({e}): {line!r}")
            self.assertEqual(list(event)[:4], ["time", "level", "system", "text"], line)
            self.assertRegex(event["time"], RFC3339)
            self.assertIn(event["level"], ("debug", "info", "warn", "error", "critical"))
            for ch in line:
                self.assertFalse(ch in "\u2028\u2029\u202e\u2066" or "\x80" <= ch <= "\x9f", f"raw {ch!r} in {line!r}")
            events.append(event)
        return events

    def wait_for_events(self, path, predicate, what):
        def check():
            found = [e for e in self.events(read_text(path)) if predicate(e)]
            return found or None
        return wait_for(check, DEFAULT_TIMEOUT, what=what)


class WebJsonLogTest(JsonLogCase):

    def setUp(self):
        super().setUp()
        self.root = self.path("root")
        os.makedirs(self.root)
        self.write('root/we"ird\\name.txt', "weird\n")

    def exchange(self, port, request):
        with socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT) as s:
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass

    def test_hostile_requests_give_lines_that_parse_and_hold_what_was_sent(self):
        server = self.start_server(["--allow-root", "--log-format", "json", "web", "--port", LOOPBACK, "--path",
                                    self.root, "--access-log"])
        port = server.listening_port()
        agents = [b'curl "quoted" \\back\\slash', b'\xff\xfe not utf-8 \xc0\xaf',
                  b'bidi \xe2\x80\xae reversed \xe2\x80\xa8 sep \xc2\x85 nel', b'", "status": 200, "x": "']
        paths = [b"/we%22ird%5Cname.txt", b'/a"b\\c', b"/\xff\xfe/\xed\xa0\x80", b"/%0d%0a%00"]
        for path, agent in zip(paths, agents):
            self.exchange(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nUser-Agent: " + agent +
                          b"\r\nConnection: close\r\n\r\n")
        # CR/LF and NUL where the protocol forbids them: refused (400), and still one parseable line each.
        self.exchange(port, b"GET /x HTTP/1.1\r\nHost: x\r\nUser-Agent: a\rb\r\n\r\n")
        self.exchange(port, b"GET /x\x00y HTTP/1.1\r\nHost: x\r\n\r\n")

        access = wait_for(lambda: (lambda found: found if len(found) >= 6 else None)(
            [e for e in self.events(server.log()) if "status" in e]), DEFAULT_TIMEOUT, what="6 access events")
        by_agent = {e["user_agent"]: e for e in access}
        for path, agent in zip(paths, agents):
            event = by_agent.get(sent(agent))
            self.assertIsNotNone(event, f"no access event with the user agent {agent!r}: {access}")
            self.assertEqual(event["path"], sent(path))
            self.assertEqual(event["method"], "GET")
            self.assertEqual(event["peer"], "127.0.0.1")
            self.assertIsInstance(event["status"], int)
            self.assertIsInstance(event["bytes"], int)
            self.assertIsInstance(event["duration_ms"], (int, float))
        self.assertEqual(by_agent[sent(agents[0])]["status"], 200)
        self.assertEqual(by_agent[sent(agents[0])]["bytes"], 6)
        self.assertEqual(sorted(e["status"] for e in access).count(400), 2, access)
        self.assertEqual(server.stop(), 0)
        self.events(server.log())  # the shutdown lines too

    def test_logfile_dash_writes_the_same_json_lines_to_stdout(self):
        out_path = self.path("stdout.log")
        with open(out_path, "wb") as out:
            proc = subprocess.Popen([CPPD, "--nodaemon", "--pidfile=", "--logfile", "-", "--log-format", "json",
                                     "--allow-root", "web", "--port", LOOPBACK, "--path", self.root, "--access-log"],
                                    cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE)
        try:
            started = self.wait_for_events(out_path, lambda e: "starting on" in e["text"], "the port line")
            port = int(re.search(r"starting on (?:\S*:)?(\d+)\b", started[0]["text"]).group(1))
            agent = b'"},{"level":"critical\\ \xff'
            self.exchange(port, b'GET /"quote" HTTP/1.1\r\nHost: x\r\nUser-Agent: ' + agent +
                          b"\r\nConnection: close\r\n\r\n")
            event = self.wait_for_events(out_path, lambda e: "status" in e, "the access event")[0]
            self.assertEqual(event["path"], '/"quote"', event)
            self.assertEqual(event["user_agent"], sent(agent))
            self.assertEqual(event["level"], "info")
        finally:
            proc.terminate()
            proc.wait(DEFAULT_TIMEOUT)
            proc.stderr.close()
        self.events(read_text(out_path))


class FtpJsonLogTest(JsonLogCase):

    def setUp(self):
        super().setUp()
        self.root = self.path("root")
        os.makedirs(self.root)
        self.write("root/hello.txt", b"hello, ftp\n")
        self.write("users.passwd", f"alice:{crypt_hash('wonderland')}\n")

    def command(self, control, line):
        control.sendall(line + b"\r\n")
        reply = b""
        deadline = time.monotonic() + DEFAULT_TIMEOUT
        while not re.search(rb"(^|\n)\d{3} [^\n]*\r\n$", reply) and time.monotonic() < deadline:
            chunk = control.recv(4096)
            if not chunk:
                break
            reply += chunk
        return reply

    def test_hostile_logins_and_transfers_give_lines_that_parse_and_hold_what_was_sent(self):
        server = self.start_server(["--allow-root", "--log-format", "json", "ftp", "--port", LOOPBACK, "--root",
                                    self.root, "--password-file", self.path("users.passwd")])
        port = server.listening_port()
        user = b'ev"il\\user \xe2\x80\xae \xc2\x85 x'
        with socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT) as control:
            control.recv(4096)
            self.command(control, b"USER bad\xc0\xaf\xed\xa0\x80")  # not UTF-8: refused, and logged safely
            self.command(control, b"USER " + user)
            self.assertTrue(self.command(control, b"PASS wrong").startswith(b"530"))
            self.command(control, b"USER a\x00b\rc")  # NUL and a bare CR in an argument
            self.command(control, b"QUIT")
        failed = self.wait_for_events(server.logfile, lambda e: e.get("event") == "login", "the failed login")[0]
        self.assertEqual(failed["user"], sent(user))
        self.assertIs(failed["ok"], False)
        self.assertEqual(failed["peer"], "127.0.0.1")
        self.assertEqual(failed["level"], "warn")

        name = 'we"ird\\name \u00e9\u2028.txt'
        client = ftplib.FTP(encoding="utf-8")
        client.connect("127.0.0.1", port, timeout=DEFAULT_TIMEOUT)
        try:
            client.login("alice", "wonderland")
            client.storbinary("STOR " + name, io.BytesIO(b"0123456789"))
            client.retrbinary("RETR hello.txt", lambda data: None)
            client.quit()
        finally:
            client.close()
        transfers = wait_for(lambda: (lambda found: found if len(found) >= 2 else None)(
            [e for e in self.events(server.log()) if e.get("event") == "transfer"]), DEFAULT_TIMEOUT,
            what="2 transfer events")
        stor, retr = transfers[0], transfers[1]
        self.assertEqual((stor["command"], stor["path"], stor["bytes"], stor["complete"]),
                         ("STOR", "/" + name, 10, True))
        self.assertEqual((retr["command"], retr["path"], retr["bytes"], retr["user"]),
                         ("RETR", "/hello.txt", 11, "alice"))
        logins = [e for e in self.events(server.log()) if e.get("event") == "login" and e["ok"]]
        self.assertEqual([e["user"] for e in logins], ["alice"])
        self.assertEqual(server.stop(), 0)
        self.events(server.log())


if __name__ == "__main__":
    unittest.main()
