"""The worker scenarios of issue 16 (--workers), at full size: a 10 s kill -9 storm, 200 respawns timed, 100 kills
with the counters watched (they never go down), SIGTERM, --max-requests, kill -9 of the supervisor and logrotate
under load.

Each scenario runs one test of tests/integration/workers_test.py (the checks live there, once) in a child Python
with the stress build's binaries and the storm's length and sample size raised; --quick runs them at the CI size.
The tests' own printed measurements become the scenario's detail line.
"""
import os
import sys

from stresslib import SOURCE_DIR, Result, ScenarioFailed

INTEGRATION = os.path.join(SOURCE_DIR, "tests", "integration")
SUPPORT = os.path.join(SOURCE_DIR, "tests", "support")


def run_test(ctx, name, test, tried, timeout, module="workers_test", **env):
    environment = dict(os.environ, CPPD_BIN=ctx.cppd, CPPD_TEST_PLUGIN_DIR=ctx.test_plugin_dir,
                       CPPD_SOURCE_DIR=SOURCE_DIR, PYTHONPATH=SUPPORT, PYTHONDONTWRITEBYTECODE="1",
                       **{k: str(v) for k, v in env.items()})
    result = ctx.processes.run([sys.executable, "-m", "unittest", "-v", f"{module}.{test}"], timeout,
                               cwd=INTEGRATION, env=environment)
    output = result.stdout + result.stderr
    measured = "; ".join(line.strip() for line in output.splitlines() if line.startswith("  ") and not line.startswith("  File"))
    # unittest's last line is "OK", "OK (skipped=1)" or "FAILED (...)": a skipped test is no pass here.
    if result.returncode != 0 or "skipped" in (output.strip().splitlines() or [""])[-1]:
        raise ScenarioFailed(f"{test} failed: {output[-1500:]}")
    return Result(name, tried, "nothing", detail=measured)


def kill_storm(ctx):
    seconds = ctx.rounds(10, 3)
    return run_test(ctx, "workers_kill_storm", "WorkerSupervisionTest.test_kill_9_storm_under_load_loses_only_the_"
                    "killed_workers_connections", f"kill -9 a worker every 200 ms for {seconds}s, 16 clients",
                    seconds + 120, CPPD_WORKER_STORM_SECONDS=seconds)


def respawn_latency(ctx):
    count = ctx.rounds(200, 30)
    return run_test(ctx, "workers_respawn_latency", "WorkerSupervisionTest.test_respawn_latency",
                    f"{count} kills of the only worker, a client right after each", 240, CPPD_WORKER_RESPAWNS=count)


def metrics_kills(ctx):
    count = ctx.rounds(100, 20)
    return run_test(ctx, "workers_metrics_kills", "WorkersControlTest.test_status_lists_the_workers_and_stop_drains_"
                    "them", f"{count} kills of 2 workers, cppdctl status after each", 240,
                    module="workers_control_test", CPPD_METRICS_KILLS=count)


def simple(name, test, tried, timeout):
    return name, lambda ctx: run_test(ctx, name, test, tried, timeout), timeout + 30


SCENARIOS = [
    ("workers_kill_storm", kill_storm, 180),
    ("workers_respawn_latency", respawn_latency, 300),
    ("workers_metrics_kills", metrics_kills, 270),
    simple("workers_sigterm_under_load", "WorkerStopTest.test_sigterm_under_load_with_four_workers_truncates_"
           "nothing", "SIGTERM with 32 downloads on 4 workers", 120),
    simple("workers_max_requests", "WorkerSupervisionTest.test_max_requests_recycles_workers_with_no_failed_"
           "request", "600 fetches through workers recycled every 40-50", 120),
    simple("workers_supervisor_kill9", "WorkerDaemonTest.test_kill_9_of_the_supervisor_ends_the_workers_and_the_"
           "port_is_free_at_once", "kill -9 of the supervisor, restart on its port", 60),
    simple("workers_logrotate", "WorkerLogRotationTest.test_logrotate_twenty_times_under_load_loses_and_splits_no_"
           "line", "logrotate x20 with 4 workers under load", 180),
]
