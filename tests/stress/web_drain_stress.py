"""cppd web under wrk while its workers are replaced one after another (`cppdctl worker kill 1`: the supervisor starts
a new worker 1, and only once it serves does the old one get SIGTERM and drain). A drain that closes keep-alive
connections under requests in flight shows as wrk socket errors (read errors mostly, as nginx-gateway-fabric #1147
saw on reloads); here there must be none, and no answer but 2xx.

Quick: 4 s of load; full: 20 s. Each replacement waits for the old worker's exit before the next begins."""
import json
import os
import re
import shutil
import subprocess
import time

from stresslib import LOOPBACK, Result, Server, ScenarioFailed, check


def _ctl(ctx, control, *args):
    cppdctl = os.path.join(os.path.dirname(ctx.cppd), "cppdctl")
    result = ctx.processes.run([cppdctl, "-s", control, "--json", *args], timeout=20)
    if result.returncode != 0:
        raise ScenarioFailed(f"cppdctl {' '.join(args)}: {result.stderr.strip()}")
    return json.loads(result.stdout)["result"]


def _process_state(pid):
    """What a worker that did not exit is doing: its state and the kernel function it waits in."""
    try:
        with open(f"/proc/{pid}/status") as f:
            state = next((line.split(":", 1)[1].strip() for line in f if line.startswith("State:")), "?")
        with open(f"/proc/{pid}/wchan") as f:
            return f"PID {pid} {state}, waiting in {f.read().strip() or '-'}"
    except OSError:
        return f"PID {pid} gone"


def _wrk_errors(output):
    """(requests, socket errors as a dict, non-2xx/3xx answers) from wrk's report."""
    requests = re.search(r"(\d+) requests in", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    counts = dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()))) if errors else {}
    return int(requests.group(1)) if requests else 0, counts, int(non2xx.group(1)) if non2xx else 0


def replaced_under_wrk(ctx):
    if shutil.which("wrk") is None:
        raise ScenarioFailed("wrk is not installed (cmake/install-deps.sh --tests installs it)")
    seconds = ctx.rounds(20, 4)
    root = ctx.path("root")
    os.makedirs(root)
    with open(os.path.join(root, "index.html"), "w") as f:
        f.write("<h1>home</h1>\n" * 40)
    control = ctx.path("cppd.ctl")
    server = Server(ctx, ["web", "--port", LOOPBACK, "--path", root],
                    runner_args=("--allow-root", "--control", control, "--workers", "2"))
    port = server.port()
    server.wait_for_log(r"all workers serving \(2\)")
    wrk = ctx.processes.popen(["wrk", "-t1", "-c50", f"-d{seconds}s", "--latency", f"http://127.0.0.1:{port}/"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    replaced = 0
    ends = time.monotonic() + seconds - 1
    while time.monotonic() < ends:
        old = _ctl(ctx, control, "worker", "kill", "1")["pid"]
        try:
            server.wait_for_log(rf"worker 1 \(PID {old}\) exited with status (\d+)")
        except ScenarioFailed as e:
            raise ScenarioFailed(f"{e}; the old worker: {_process_state(old)}; log tail: "
                                 f"{server.log()[-600:]!r}") from None
        status = re.search(rf"worker 1 \(PID {old}\) exited with status (\d+)", server.log()).group(1)
        check(status == "0", f"the replaced worker (PID {old}) exited with status {status}, not 0 (a forced drain)")
        replaced += 1
    try:
        output, _ = wrk.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        raise ScenarioFailed(f"wrk did not end within {seconds + 30}s") from None
    requests, errors, non2xx = _wrk_errors(output)
    check(wrk.returncode == 0 and requests > 0, f"wrk failed: {output[-800:]}")
    check(replaced >= 2, f"only {replaced} worker replacements in {seconds}s")
    check(not any(errors.values()), f"wrk socket errors {errors} over {replaced} replacements: {output[-800:]}")
    check(non2xx == 0, f"{non2xx} answers not 2xx over {replaced} replacements")
    code, _ = server.stop()
    check(code == 0, f"exit status {code}")
    latency = re.search(r"99%\s+(\S+)", output)
    return Result("web_drain_worker_replaced", f"wrk -t1 -c50 -d{seconds}s against web --workers 2 while worker 1 is "
                  f"replaced {replaced} times", "nothing",
                  detail=f"{requests} requests, 0 socket errors, 0 non-2xx, {replaced} replacements, "
                         f"p99 {latency.group(1) if latency else '?'}")


SCENARIOS = [("web_drain_worker_replaced", replaced_under_wrk, 120)]
