"""runner/dist/k8s: the Dockerfile and the Kubernetes manifest agree with each other and with cppd. The probes ask
the container's --metrics port for /ready (readiness) and /metrics (liveness), the grace period is above the
container's --shutdown-timeout, the Service targets ports the container declares, and the container's command
line is one the real cppd accepts. (No image is built: there is no container runtime on the test machines.)"""
import json
import os
import re
import sys
import unittest

from cppdtest import CPPD, SOURCE_DIR, run_cppd

try:
    import yaml
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")  # Debian's python3-yaml, for a same-version interpreter
    try:
        import yaml
    except ImportError:
        yaml = None

K8S_DIR = os.path.join(SOURCE_DIR, "runner", "dist", "k8s")


def dockerfile_instructions(path):
    """(INSTRUCTION, argument) pairs, line continuations joined and comments dropped."""
    with open(path) as f:
        text = f.read()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [tuple(line.strip().split(None, 1)) for line in joined.splitlines() if line.strip()]


def option(argv, name):
    """The value of --name in argv ("--name value" or "--name=value"), None when absent."""
    for i, word in enumerate(argv):
        if word == f"--{name}":
            return argv[i + 1]
        if word.startswith(f"--{name}="):
            return word.split("=", 1)[1]
    return None


@unittest.skipIf(yaml is None, "PyYAML is not installed (Debian: python3-yaml)")
class KubernetesManifestTest(unittest.TestCase):
    def setUp(self):
        instructions = dockerfile_instructions(os.path.join(K8S_DIR, "Dockerfile"))
        self.docker = {}
        for keyword, argument in instructions:
            self.docker.setdefault(keyword.upper(), []).append(argument)
        with open(os.path.join(K8S_DIR, "cppd.yaml")) as f:
            documents = [d for d in yaml.safe_load_all(f) if d]
        self.kinds = {d["kind"]: d for d in documents}
        self.assertEqual(sorted(self.kinds), ["Deployment", "Service"])
        pod = self.kinds["Deployment"]["spec"]["template"]
        self.pod = pod
        self.assertEqual(len(pod["spec"]["containers"]), 1)
        self.container = pod["spec"]["containers"][0]
        # The manifest runs the image's own command line: it must not override it behind the Dockerfile's back.
        self.assertNotIn("command", self.container)
        self.assertNotIn("args", self.container)
        self.argv = json.loads(self.docker["ENTRYPOINT"][-1]) + json.loads(self.docker["CMD"][-1])

    def container_port(self, port):
        """A probe's or Service's port (a number or a name) as the container's port number."""
        if isinstance(port, int):
            self.assertIn(port, [p["containerPort"] for p in self.container["ports"]])
            return port
        named = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        self.assertIn(port, named)
        return named[port]

    def metrics_port(self):
        endpoint = option(self.argv, "metrics")
        self.assertIsNotNone(endpoint, "the container serves no --metrics endpoint")
        m = re.fullmatch(r"tcp6?:(\d+)(:.*)?", endpoint)
        self.assertIsNotNone(m, endpoint)
        self.assertNotIn("interface=127.0.0.1", endpoint, "the kubelet probes from outside the container")
        return int(m.group(1))

    def test_the_image_is_debian_12_slim_with_the_deb_and_cppd_as_pid_1(self):
        self.assertEqual(self.docker["FROM"], ["debian:12-slim"])
        self.assertTrue(any(".deb" in run and "apt-get install" in run for run in self.docker["RUN"]))
        self.assertEqual(self.argv[0], "/usr/bin/cppd")
        for required in ("--nodaemon", "--log-format"):
            self.assertIn(required, self.argv)
        self.assertEqual(option(self.argv, "logfile"), "-")
        self.assertEqual(option(self.argv, "log-format"), "json")

    def test_the_probes_ask_the_metrics_port_for_ready_and_metrics(self):
        port = self.metrics_port()
        readiness = self.container["readinessProbe"]["httpGet"]
        self.assertEqual(readiness["path"], "/ready")
        self.assertEqual(self.container_port(readiness["port"]), port)
        liveness = self.container["livenessProbe"]["httpGet"]
        self.assertIn(liveness["path"], ("/metrics", "/ready"))
        # /ready is 503 while draining: a liveness probe on it would kill a pod in the middle of a clean stop.
        self.assertEqual(liveness["path"], "/metrics")
        self.assertEqual(self.container_port(liveness["port"]), port)
        self.assertEqual(self.pod["metadata"]["annotations"]["prometheus.io/port"], str(port))

    def test_the_grace_period_is_above_the_shutdown_timeout(self):
        timeout = float(option(self.argv, "shutdown-timeout") or 30)  # cppd's default
        self.assertGreater(timeout, 0, "with no shutdown timeout the kubelet's SIGKILL ends every slow drain")
        grace = self.pod["spec"]["terminationGracePeriodSeconds"]
        self.assertGreater(grace, timeout)

    def test_the_service_selects_the_pods_and_targets_declared_ports(self):
        service = self.kinds["Service"]["spec"]
        labels = self.pod["metadata"]["labels"]
        self.assertTrue(service["selector"].items() <= labels.items())
        deployment = self.kinds["Deployment"]["spec"]
        self.assertTrue(deployment["selector"]["matchLabels"].items() <= labels.items())
        for port in service["ports"]:
            self.container_port(port["targetPort"])

    def test_the_real_cppd_accepts_the_container_command_line(self):
        # --version after the runner's options: parsed and checked like a real start, then nothing is started.
        options = self.argv[1:self.argv.index("fastpoetry")]
        result = run_cppd([*options, "--version"])
        self.assertEqual(result.returncode, 0, result.stderr)
        plugin = run_cppd([*options, "fastpoetry", "--help"])
        self.assertEqual(plugin.returncode, 0, plugin.stderr)
        for word in self.argv[self.argv.index("fastpoetry") + 1:]:
            if word.startswith("--"):
                self.assertIn(word, plugin.stdout)
        self.assertEqual(os.path.basename(self.argv[0]), os.path.basename(CPPD))
