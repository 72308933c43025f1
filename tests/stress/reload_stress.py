"""Zero-downtime reloads under load (issue 18): tests/bench/reload_bench's proof, run by the stress suite.

reload_under_load: reloads (SIGUSR2, each awaited through the status generation) one every 300 ms while keep-alive
and one-shot HTTP clients load the web plugin and poetry clients fastpoetry; 0 failed requests, p99 at most 2x
rest, at most two generations of workers, the supervisor's RSS and descriptors within 5%. --quick (CI): 20 reloads
over ~8 s, 50 keep-alive and 4 + 4 short clients, 2 s at rest; full: the issue's 1000 reloads, 200 connections.
reload_upgrade_under_load: the same with the installed binary replaced by a rebuilt one before each reload; 100 in
the full run; --quick leaves it out (CI time), and says so.

Both need a daemon that reloads: one whose `cppdctl reload` answers "reload is not supported by this version" (today's)
makes them SKIPPED, never passed. tests/bench/reload_bench --disrupt worker-kill measures today's stand-in.
"""
import importlib.machinery
import importlib.util
import os
import types

from stresslib import SOURCE_DIR, Result, ScenarioFailed, ScenarioSkipped


def load_bench():
    """tests/bench/reload_bench as a module: the proof lives there once."""
    path = os.path.join(SOURCE_DIR, "tests", "bench", "reload_bench")
    loader = importlib.machinery.SourceFileLoader("reload_bench", path)
    spec = importlib.util.spec_from_loader("reload_bench", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def prove(ctx, name, disrupt, count, tried):
    bench = load_bench()
    build = os.path.dirname(os.path.dirname(ctx.cppd))
    try:
        paths = bench.locate(build)
    except bench.BenchError as e:
        raise ScenarioFailed(str(e)) from None
    quick = ctx.quick
    settings = types.SimpleNamespace(build=build, disrupt=disrupt, count=count, interval=0.3,
                                     rest_seconds=2.0 if quick else 10.0, keepalive=50 if quick else 200,
                                     oneshot=4 if quick else 8, poetry=4 if quick else 8, pause_ms=0, workers=2,
                                     reuseport=False,
                                     **paths)
    lines = []
    try:
        summary = bench.prove(settings, ctx.workdir, popen=ctx.processes.popen,
                              run=tracked_run(ctx),
                              say=lines.append)
    except bench.ReloadUnsupported as e:
        raise ScenarioSkipped(f"this cppd cannot reload ({e}); tests/bench/reload_bench --disrupt worker-kill "
                              "measures today's stand-in") from None
    except bench.BenchError as e:
        raise ScenarioFailed(str(e)) from None
    facts = "; ".join(text for _, ok, text in summary.checks if ok)
    if not summary.ok:
        timeline = [line for line in summary.details.splitlines() if line.startswith(("  +", "timeline summary",
                                                                                       "failures by", "  keep",
                                                                                       "  one", "  poetry"))]
        return Result(name, tried, "; ".join(summary.failed()), ok=False,
                      detail="\n  ".join([facts, *summary.facts, *timeline[:40]]))
    return Result(name, tried, "nothing", detail="; ".join([facts, *summary.facts]))


def tracked_run(ctx):
    """subprocess.run for the bench, through ctx.processes (which always captures text output and ends what it
    started)."""
    def run(argv, timeout=60, **kwargs):
        for key in ("capture_output", "text", "stdin"):
            kwargs.pop(key, None)
        return ctx.processes.run(argv, timeout, **kwargs)
    return run


def reload_under_load(ctx):
    count = ctx.rounds(1000, 20)
    return prove(ctx, "reload_under_load", "reload", count,
                 f"{count} reloads every 300 ms under keep-alive, one-shot HTTP and poetry load")


def upgrade_under_load(ctx):
    if ctx.quick:
        raise ScenarioSkipped("--quick leaves out the binary upgrades (CI time); the full run does 100")
    return prove(ctx, "reload_upgrade_under_load", "upgrade", 100,
                 "100 binary upgrades (file replaced, then reload) every 300 ms under the same load")


SCENARIOS = [
    ("reload_under_load", reload_under_load, 1200),
    ("reload_upgrade_under_load", upgrade_under_load, 300),
]
