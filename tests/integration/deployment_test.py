"""Deployment files (`cppd -y FILE`): several plugin services in one process, and every error naming the file,
the line and the key.
"""
import os
import re
import signal
import subprocess
import unittest

from cppdtest import (CPPD, DEFAULT_TIMEOUT, POETRY_DIR, SOURCE_DIR, STRACE, TempDirTestCase, fetch, read_bytes,
                      read_text, run_cppd, strace_works, wait_for, wait_for_log, without_leak_check)

ECSTASY = os.path.join(POETRY_DIR, "ecstasy.txt")
SONNET = os.path.join(POETRY_DIR, "sonnet18.txt")


class DeploymentFileTest(TempDirTestCase):
    def deploy(self, text):
        return self.write("deploy.toml", text)

    def test_two_fastpoetry_services_serve_both_ports_in_one_process(self):
        config = self.deploy(f"""
[[service]]
plugin = "fastpoetry"
name = "ecstasy"
port = "tcp:0:interface=127.0.0.1"
poem = "{ECSTASY}"

[[service]]
plugin = "fastpoetry"
name = "sonnet"
port = "tcp:0:interface=127.0.0.1"
poem = "{SONNET}"
""")
        server = self.start_server(["-y", config])
        server.wait_for_log(r"\[sonnet\].*starting on \d+")
        log = server.log()
        ports = {name: int(port) for name, port in re.findall(r"\[(ecstasy|sonnet)\].*starting on (\d+)", log)}
        self.assertEqual(fetch("127.0.0.1", ports["ecstasy"]), read_bytes(ECSTASY))
        self.assertEqual(fetch("127.0.0.1", ports["sonnet"]), read_bytes(SONNET))
        # Each connection's lines say which service it belongs to.
        server.wait_for_log(r"\[ecstasy:PoetryProtocol,0,127\.0\.0\.1\] sending \d+ bytes of poetry")
        server.wait_for_log(r"\[sonnet:PoetryProtocol,0,127\.0\.0\.1\] sending \d+ bytes of poetry")
        # startService logs the poem after privilegedStartService logged the port: wait, the log may lag.
        server.wait_for_log(r"\[ecstasy\] loaded a poem from: " + re.escape(ECSTASY))
        server.wait_for_log(r"\[sonnet\] loaded a poem from: " + re.escape(SONNET))
        self.assertIn("fastpoetry as 'ecstasy', fastpoetry as 'sonnet'", log)
        self.assertEqual(server.stop(), 0)
        self.assertIn("Server Shut Down.", server.log())

    def test_the_command_line_overrides_the_cppd_table(self):
        config = self.deploy(f"""
[cppd]
pidfile = "from-file.pid"
shutdown-timeout = 5

[[service]]
plugin = "fastpoetry"
port = "tcp:0:interface=127.0.0.1"
poem = "{ECSTASY}"
""")
        server = self.start_server(["--pidfile", "from-cli.pid", "-y", config])
        server.listening_port()
        wait_for(lambda: os.path.exists(self.path("from-cli.pid")), what="the command line's pidfile")
        self.assertFalse(os.path.exists(self.path("from-file.pid")))
        self.assertEqual(server.stop(), 0)

    def test_the_shipped_example_serves_two_poems(self):
        example = read_text(os.path.join(SOURCE_DIR, "runner", "dist", "two-poems.toml"))
        self.assertEqual(example.count('plugin = "fastpoetry"'), 2)
        # The example's fixed ports become ephemeral ones, and its source-tree poem paths absolute.
        text = re.sub(r"tcp:1000\d", "tcp:0", example).replace('"poetry/', f'"{POETRY_DIR}/')
        server = self.start_server(["-y", self.deploy(text)])
        server.wait_for_log(r"\[second\].*starting on \d+")
        ports = [int(p) for p in re.findall(r"starting on (\d+)", server.log())]
        self.assertEqual(len(ports), 2)
        for port in ports:
            self.assertEqual(fetch("127.0.0.1", port), read_bytes(ECSTASY))
        self.assertEqual(server.stop(), 0)

    def assert_deploy_error(self, text, expected, code=78):
        config = self.deploy(text)
        result = run_cppd(["--nodaemon", "--pidfile=", "-y", config], cwd=self.tmp)
        self.assertEqual(result.returncode, code, result.stderr)
        self.assertEqual(result.stderr, f"cppd: {config}:{expected}\n")

    def test_a_toml_integer_umask_is_the_number_it_writes(self):
        # umask = 0o22 is eighteen: it once became "--umask=18", read as octal 018 and refused (and 0o77, 63,
        # became 0063, leaving files readable by the group).
        config = self.deploy(f"""
[cppd]
umask = 0o27

[[service]]
plugin = "fastpoetry"
port = "tcp:0:interface=127.0.0.1"
poem = "{ECSTASY}"
""")
        server = self.start_server(["-y", config])
        server.listening_port()
        with open(f"/proc/{server.pid}/status") as f:
            self.assertIn("Umask:\t0027\n", f.read())
        self.assertEqual(server.stop(), 0)

    def test_cppd_table_values_are_checked_together_like_the_command_line(self):
        # logfile = "-" is only wrong for a daemon; nodaemon = true below makes it right. Each key was once checked
        # alone as a command-line word, so the file was refused at line 3 as if it described a daemon.
        config = self.deploy(f"""
[cppd]
logfile = "-"
nodaemon = true
pidfile = ""

[[service]]
plugin = "fastpoetry"
port = "tcp:0:interface=127.0.0.1"
poem = "{ECSTASY}"
""")
        stdout_path = self.path("stdout.txt")
        with open(stdout_path, "w") as stdout:
            proc = subprocess.Popen([CPPD, "-y", config], cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=stdout,
                                    stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait, DEFAULT_TIMEOUT)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        port = int(wait_for_log(stdout_path, r"starting on (\d+)").group(1))
        self.assertEqual(fetch("127.0.0.1", port), read_bytes(ECSTASY))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(DEFAULT_TIMEOUT), 0)
        self.assertIn("Server Shut Down.", read_text(stdout_path))

    def test_a_cppd_value_of_the_wrong_type_or_out_of_range_names_line_key_and_value(self):
        service = f'\n[[service]]\nplugin = "fastpoetry"\npoem = "{ECSTASY}"\n'
        self.assert_deploy_error("[cppd]\nnodaemon = 1" + service,
                                 "2: [cppd] key 'nodaemon' is a flag: use true or false")
        self.assert_deploy_error("[cppd]\n\numask = 0o1777" + service,
                                 "3: [cppd] key 'umask': option --umask: '1777' is more than 0777")
        self.assert_deploy_error("[cppd]\nlogfile-keep = -2" + service,
                                 "2: [cppd] key 'logfile-keep': option --logfile-keep: '-2' is not a count (0 or more)")

    def test_command_line_actions_in_the_cppd_table_are_refused(self):
        for line in ("help = true", "version = true", "list-plugins = true", 'config = "other.toml"', "check = true"):
            key = line.split(" ")[0]
            with self.subTest(key=key):
                self.assert_deploy_error(f"""
[cppd]
{line}

[[service]]
plugin = "fastpoetry"
""", f"3: [cppd] key '{key}' is a command-line action, not a server setting: remove it "
     f"(give --{key} on the command line instead)")

    def test_check_builds_everything_a_start_would_and_runs_nothing(self):
        config = self.deploy(f"""
[cppd]
workers = 2

[[service]]
plugin = "fastpoetry"
name = "ecstasy"
port = "tcp:10000:interface=127.0.0.1"
poem = "{ECSTASY}"

[[service]]
plugin = "web"
name = "site"
port = "tcp:8080:interface=127.0.0.1"
path = "{self.tmp}"
""")
        before = sorted(os.listdir(self.tmp))
        result = run_cppd(["--check", "-y", config], cwd=self.tmp)
        if os.geteuid() == 0:  # a web server as root without -u is refused, by --check as by a start
            self.assertEqual(result.returncode, 77, result.stderr)
            self.assertIn("web (service 'site')", result.stderr)
            result = run_cppd(["--check", "--allow-root", "-y", config], cwd=self.tmp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, f"cppd: {config}: OK, 2 services, 2 workers\n"
                                        "  ecstasy  tcp:10000:interface=127.0.0.1\n"
                                        "  site  tcp:8080:interface=127.0.0.1\n")
        self.assertEqual(result.stderr, "")
        self.assertEqual(sorted(os.listdir(self.tmp)), before)  # no pidfile, log file or control socket
        # The command line form, and the errors a start would give, with the same exit codes.
        result = run_cppd(["--check", "fastpoetry", "--port", "tcp:0:interface=127.0.0.1", "--poem", ECSTASY],
                          cwd=self.tmp)
        self.assertEqual((result.returncode, result.stdout),
                         (0, "cppd: fastpoetry: OK, 1 service\n  fastpoetry  tcp:0:interface=127.0.0.1\n"))
        broken = self.write("broken.toml", f'[[service]]\nplugin = "fastpoetry"\npoem = "{ECSTASY}"\nbogus = 1\n')
        result = run_cppd(["--check", "-y", broken], cwd=self.tmp)
        self.assertEqual(result.returncode, 78)
        self.assertIn(f"{broken}:4: service 'fastpoetry': plugin 'fastpoetry' has no option 'bogus'", result.stderr)
        result = run_cppd(["--check", "fastpoetri"], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("unknown command 'fastpoetri' (did you mean 'fastpoetry'?)", result.stderr)

    def test_an_unknown_plugin_names_the_line_and_close_matches(self):
        self.assert_deploy_error('[[service]]\nplugin = "fastpoetri"\n',
                                 "1: service 'fastpoetri': unknown plugin 'fastpoetri' (did you mean 'fastpoetry'?); "
                                 "run 'cppd --help' for the list of commands")

    def test_an_unknown_option_names_its_line(self):
        self.assert_deploy_error(f'[[service]]\nplugin = "fastpoetry"\npoem = "{ECSTASY}"\nbogus = 1\n',
                                 "4: service 'fastpoetry': plugin 'fastpoetry' has no option 'bogus' "
                                 "(see cppd fastpoetry --help)")

    def test_a_wrong_type_names_its_line(self):
        self.assert_deploy_error(f'[[service]]\nplugin = "fastpoetry"\nport = true\npoem = "{ECSTASY}"\n',
                                 "3: service 'fastpoetry': option 'port' takes a value, not true/false")

    def test_a_bad_value_names_the_service(self):
        self.assert_deploy_error(f'[[service]]\nplugin = "fastpoetry"\nport = "tcp:abc"\npoem = "{ECSTASY}"\n',
                                 "1: service 'fastpoetry': fastpoetry: option --port: invalid endpoint 'tcp:abc': "
                                 "port 'abc' is not a number 0-65535")

    def test_a_duplicate_service_name_names_both_lines(self):
        self.assert_deploy_error(f'[[service]]\nplugin = "fastpoetry"\npoem = "{ECSTASY}"\n'
                                 f'[[service]]\nplugin = "fastpoetry"\npoem = "{ECSTASY}"\n',
                                 "4: duplicate service name 'fastpoetry' (first at line 1); "
                                 "give each service its own name = \"...\"")

    def test_a_missing_required_option_names_the_service(self):
        self.assert_deploy_error('[[service]]\nplugin = "fastpoetry"\n',
                                 "1: service 'fastpoetry': fastpoetry: option --poem is required")

    def test_a_syntax_error_names_line_and_column(self):
        config = self.deploy('[[service]]\nplugin = "fastpoetry\n')
        result = run_cppd(["--nodaemon", "-y", config], cwd=self.tmp)
        self.assertEqual(result.returncode, 78)
        self.assertRegex(result.stderr, re.escape(f"cppd: {config}:2: ") + r".*column \d+")

    def test_a_missing_file_is_a_no_input_error(self):
        result = run_cppd(["--nodaemon", "-y", self.path("absent.toml")], cwd=self.tmp)
        self.assertEqual(result.returncode, 66)
        self.assertEqual(result.stderr,
                         f"cppd: read deployment file {self.path('absent.toml')}: No such file or directory\n")

    def test_a_plugin_name_and_a_deployment_file_together_are_refused(self):
        config = self.deploy('[[service]]\nplugin = "fastpoetry"\n')
        result = run_cppd(["--nodaemon", "-y", config, "fastpoetry"], cwd=self.tmp)
        self.assertEqual(result.returncode, 64)
        self.assertIn("not both", result.stderr)


@unittest.skipUnless(strace_works(), "strace is missing or cannot trace here (no ptrace)")
class AccountLookupTest(TempDirTestCase):
    """The user and group a run names are looked up once: the run uses what the check found."""

    def passwd_and_group_opens(self, args):
        log = self.path("strace.log")
        result = subprocess.run([STRACE, "-f", "-o", log, "-e", "trace=open,openat", CPPD, "--nodaemon", "--pidfile=",
                                 *args], cwd=self.tmp, env=without_leak_check(os.environ), capture_output=True,
                                text=True, timeout=DEFAULT_TIMEOUT)
        self.assertEqual(result.returncode, 78, result.stderr)  # stops at the unknown plugin, after the lookups
        self.assertIn("unknown plugin 'no-such-plugin-cppd'", result.stderr)
        calls = read_text(log)
        return calls.count('"/etc/passwd"'), calls.count('"/etc/group"')

    def test_a_deployment_files_user_and_group_are_looked_up_once(self):
        config = self.write("deploy.toml", '[cppd]\nuid = "nobody"\ngid = "nogroup"\n'
                                           '[[service]]\nplugin = "no-such-plugin-cppd"\n')
        self.assertEqual(self.passwd_and_group_opens(["-y", config]), (1, 1))

    def test_a_command_lines_user_and_group_with_a_deployment_file_are_looked_up_once(self):
        config = self.write("deploy.toml", '[[service]]\nplugin = "no-such-plugin-cppd"\n')
        self.assertEqual(self.passwd_and_group_opens(["-u", "nobody", "-g", "nogroup", "-y", config]), (1, 1))


if __name__ == "__main__":
    unittest.main()
