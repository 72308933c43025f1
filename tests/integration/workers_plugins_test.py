"""The bundled plugins unchanged under --workers: ftp (passive data listeners opened per session, in the worker
that owns the control connection) with Python's ftplib, and web with curl's keep-alive, each served by several
workers of one supervisor."""
import concurrent.futures
import ftplib
import io
import os
import re
import shutil
import subprocess
import unittest

from cppdtest import DEFAULT_TIMEOUT, TempDirTestCase, wait_for
from workers import workers_in_log

CLIENTS = 24


class WorkersPluginsTest(TempDirTestCase):
    def setUp(self):
        super().setUp()
        self.root = self.path("root")
        os.makedirs(os.path.join(self.root, "pub"))
        self.data = os.urandom(300_000)
        self.write("root/pub/data.bin", self.data)

    def test_ftp_sessions_list_and_download_in_every_worker(self):
        server = self.start_server(["--allow-root", "--workers", "3", "ftp", "--port", "tcp:0:interface=127.0.0.1",
                                    "--root", self.root])
        server.wait_for_log(r"all workers serving \(3\)")
        port = server.listening_port()

        def session(_):
            client = ftplib.FTP()
            client.connect("127.0.0.1", port, timeout=DEFAULT_TIMEOUT)
            try:
                client.login("anonymous", "test@example.com")
                listing = client.nlst("pub")
                got = io.BytesIO()
                client.retrbinary("RETR pub/data.bin", got.write)
                client.quit()
                return listing, got.getvalue()
            finally:
                client.close()

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(session, range(CLIENTS)))
        for listing, data in results:
            self.assertEqual(listing, ["data.bin"])
            self.assertEqual(data, self.data)
        wait_for(lambda: len(re.findall(r"RETR /pub/data.bin .*complete", server.log())) == CLIENTS,
                 what="every transfer logged")
        self.assertGreater(len(workers_in_log(server.log(), "FtpSession")), 1, server.log()[-3000:])
        self.assertEqual(server.stop(), 0)

    @unittest.skipUnless(shutil.which("curl"), "curl is not installed")
    def test_web_keep_alive_clients_get_whole_files_from_several_workers(self):
        server = self.start_server(["--allow-root", "--workers", "3", "web", "--port", "tcp:0:interface=127.0.0.1",
                                    "--path", self.root, "--access-log"])
        server.wait_for_log(r"all workers serving \(3\)")
        port = server.listening_port()
        url = f"http://127.0.0.1:{port}/pub/data.bin"

        def fetch_three(_):
            # One curl, three requests on one keep-alive connection.
            out = subprocess.run(["curl", "-sS", "--fail", url, url, url], capture_output=True,
                                 timeout=DEFAULT_TIMEOUT)
            return out.returncode, out.stdout

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(fetch_three, range(CLIENTS)))
        for code, body in results:
            self.assertEqual(code, 0)
            self.assertEqual(body, self.data * 3)
        log = wait_for(lambda: (text := server.log()).count('"GET /pub/data.bin HTTP/1.1" 200') == 3 * CLIENTS
                       and text, what="every request logged")
        self.assertGreater(len(set(re.findall(r"\[\S*w(\d+),", log))), 1, log[-3000:])
        self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main()
