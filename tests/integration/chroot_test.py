"""Plugin paths under --chroot: every bundled plugin resolves the paths in its options on the host, when its service
is made, and holds what they name open, so it serves the same files with and without --chroot (the rule in
sdk/include/cppd/service_maker.hpp). Each server here is chrooted into an empty directory: nothing it serves exists
inside the new root.
"""
import ftplib
import io
import os
import socket
import unittest

from cppdtest import DEFAULT_TIMEOUT, TempDirTestCase, fetch, read_text
from ftp_test import crypt_hash

LOOPBACK = "tcp:0:interface=127.0.0.1"
# Runner options every server of these tests starts with (the one place for them).
# The tests run as root (CI) and serve files they own: say so, as the runner demands of a file server.
RUNNER_ARGS = ["--allow-root"]


@unittest.skipUnless(os.geteuid() == 0, "chroot needs root")
class ChrootPathsTest(TempDirTestCase):

    def setUp(self):
        super().setUp()
        self.jail = self.path("jail")
        os.makedirs(self.jail)
        self.root = self.path("served")
        os.makedirs(os.path.join(self.root, "pub"))
        self.write("served/pub/hello.txt", b"hello from the host\n")

    def start(self, plugin_args):
        server = self.start_server([*RUNNER_ARGS, "--chroot", self.jail, *plugin_args])
        port = server.listening_port()
        self.assertEqual(os.readlink(f"/proc/{server.pid}/root"), self.jail)
        return server, port

    def test_ftp_serves_and_stores_in_its_root_after_the_chroot(self):
        self.write("users.passwd", f"alice:{crypt_hash('pw')}\n")
        server, port = self.start(["ftp", "--port", LOOPBACK, "--root", self.root,
                                   "--password-file", self.path("users.passwd")])
        client = ftplib.FTP()
        client.connect("127.0.0.1", port, timeout=DEFAULT_TIMEOUT)
        self.addCleanup(client.close)
        client.login("alice", "pw")
        self.assertEqual(client.nlst("pub"), ["hello.txt"])
        client.cwd("pub")
        self.assertEqual(client.size("hello.txt"), 20)
        chunks = []
        client.retrbinary("RETR hello.txt", chunks.append)
        self.assertEqual(b"".join(chunks), b"hello from the host\n")
        client.storbinary("STOR up.txt", io.BytesIO(b"uploaded\n"))
        client.quit()
        self.assertEqual(read_text(os.path.join(self.root, "pub", "up.txt")), "uploaded\n")
        self.assertEqual(os.listdir(self.jail), [])

    def test_web_serves_its_path_after_the_chroot(self):
        server, port = self.start(["web", "--port", LOOPBACK, "--path", self.root])
        with socket.create_connection(("127.0.0.1", port), timeout=DEFAULT_TIMEOUT) as s:
            s.sendall(b"GET /pub/hello.txt HTTP/1.0\r\nHost: x\r\n\r\n")
            response = b""
            while chunk := s.recv(65536):
                response += chunk
        self.assertTrue(response.startswith(b"HTTP/1.1 200") or response.startswith(b"HTTP/1.0 200"), response)
        self.assertTrue(response.endswith(b"\r\n\r\nhello from the host\n"), response)

    def test_fastpoetry_serves_its_poem_after_the_chroot(self):
        poem = os.path.join(self.root, "pub", "hello.txt")
        server, port = self.start(["fastpoetry", "--port", LOOPBACK, "--poem", poem])
        self.assertEqual(fetch("127.0.0.1", port), b"hello from the host\n")


if __name__ == "__main__":
    unittest.main()
