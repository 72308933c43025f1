"""An empty interface never means "every interface": `--iface ""` (fastpoetry) and `interface=` in an endpoint
(every plugin's --port, on the command line or in a deployment file) are refused before anything listens, with
the option, the value and what to write instead."""
import os

from cppdtest import POETRY_DIR, TempDirTestCase, fetch, run_cppd

ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
USAGE = 64
CONFIG = 78
IPV4_HINT = ("interface= is empty; name the address to listen on (interface=127.0.0.1), write interface=0.0.0.0 "
             "for every IPv4 interface, or leave interface= out")
IPV6_HINT = ("interface= is empty; name the address to listen on (interface=\\:\\:1), write interface=\\:\\: for "
             "every IPv6 interface, or leave interface= out")


class EmptyInterfaceTest(TempDirTestCase):
    def plugin_args(self, plugin):
        """The options each plugin needs besides --port."""
        os.makedirs(self.path("root"), exist_ok=True)
        return {"fastpoetry": ["--poem", ECSTASY], "web": ["--path", self.path("root")],
                "ftp": ["--root", self.path("root")]}[plugin]

    def assert_refused(self, args, message, code=USAGE):
        result = run_cppd(["--nodaemon", "--pidfile=", "--logfile", self.path("cppd.log"), *args], cwd=self.tmp)
        self.assertEqual(result.returncode, code, result.stderr)
        self.assertIn(message, result.stderr)
        # Refused while the options were read: nothing was started, so nothing was logged as listening.
        log = self.path("cppd.log")
        if os.path.exists(log):
            with open(log) as f:
                self.assertNotIn("starting on", f.read())

    def test_fastpoetry_refuses_an_empty_iface_in_both_spellings(self):
        hint = ("fastpoetry: option --iface: '' names no interface; give the address a bare --port listens on "
                "(127.0.0.1, ::1, localhost), or 0.0.0.0 for every IPv4 interface")
        self.assert_refused(["fastpoetry", "--port", "0", "--iface", "", "--poem", ECSTASY], hint)
        self.assert_refused(["fastpoetry", "--port=0", "--iface=", "--poem", ECSTASY], hint)

    def test_every_plugin_refuses_an_endpoint_with_an_empty_interface(self):
        for plugin in ("fastpoetry", "web", "ftp"):
            for endpoint, hint in (("tcp:0:interface=", IPV4_HINT), ("tcp:interface=:0", IPV4_HINT),
                                   ("tcp6:0:interface=", IPV6_HINT)):
                with self.subTest(plugin=plugin, endpoint=endpoint):
                    self.assert_refused([plugin, "--port", endpoint, *self.plugin_args(plugin)],
                                        f"{plugin}: option --port: invalid endpoint '{endpoint}': {hint}")

    def test_a_deployment_file_refuses_an_empty_interface(self):
        cases = (
            (f'port = "tcp:0:interface="\npoem = "{ECSTASY}"\n',
             f"fastpoetry: option --port: invalid endpoint 'tcp:0:interface=': {IPV4_HINT}"),
            (f'port = "0"\niface = ""\npoem = "{ECSTASY}"\n', "fastpoetry: option --iface: '' names no interface"),
        )
        for body, message in cases:
            with self.subTest(body=body):
                config = self.write("deploy.toml", f'[[service]]\nplugin = "fastpoetry"\n{body}')
                self.assert_refused(["-y", config], f"service 'fastpoetry': {message}", code=CONFIG)

    def test_a_named_iface_still_serves_a_bare_port(self):
        server = self.start_server(["fastpoetry", "--port", "0", "--iface", "127.0.0.1", "--poem", ECSTASY])
        port = server.listening_port()
        with open(ECSTASY, "rb") as f:
            self.assertEqual(fetch("127.0.0.1", port), f.read())
        self.assertEqual(server.stop(), 0)
