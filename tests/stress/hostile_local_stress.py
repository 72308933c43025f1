"""Hostile local user: an unprivileged user who can write inside a served tree races the server.

jail_swap_race: a directory inside the ftp root is exchanged with a symlink to a directory outside it
(renameat2 RENAME_EXCHANGE, as fast as the kernel allows) for 10 s (5 s with --quick) while four FTP clients RETR,
STOR, LIST, NLST, CWD, DELE and MKD through it. Zero escapes: nothing outside read, listed, created or removed.
"""
import os
import sys

from stresslib import LOOPBACK, Result, Server, check

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import jail_race  # noqa: E402


def _password_file(ctx, password):
    hashed = ctx.processes.run(["openssl", "passwd", "-6", password], timeout=20)
    check(hashed.returncode == 0, f"openssl passwd failed: {hashed.stderr}")
    path = ctx.path("users.passwd")
    with open(path, "w") as f:
        f.write(f"mallory:{hashed.stdout.strip()}\n")
    return path


def jail_swap_race(ctx):
    seconds = 5.0 if ctx.quick else 10.0
    root, outside = ctx.path("root"), ctx.path("outside")
    jail_race.make_tree(root, outside)
    users = _password_file(ctx, "pw")
    server = Server(ctx, ["ftp", "--port", LOOPBACK, "--root", root, "--password-file", users], name="ftp",
                    runner_args=("--allow-root",))
    port = server.port()
    tally, exchanges, problems = jail_race.race(root, outside, port, "mallory", "pw", seconds,
                                                popen=ctx.processes.popen)
    check(not tally.escapes, f"{len(tally.escapes)} escapes, e.g. {tally.escapes[:3]}")
    check(not problems, "; ".join(problems))
    check(exchanges > 1000, f"the swapper made only {exchanges} exchanges")
    check(tally.inside_reads > 0, "no RETR reached the real directory: the race was not exercised")
    check(server.alive(), "the server died during the race")
    code, _ = server.stop()
    check(code == 0, f"exit status {code}")
    return Result("jail_swap_race", f"{tally.operations} FTP operations through a swapped directory in {seconds:g}s",
                  "nothing", detail=f"{exchanges} exchanges; {tally.inside_reads} RETRs read the real file; "
                                    f"0 escapes")


SCENARIOS = [
    ("jail_swap_race", jail_swap_race, 120),
]
