"""The benchmark harness: every path measured against its limit, side by side, in one run.

    .venv/bin/python scripts/bench.py all      # every path below, then one table
    .venv/bin/python scripts/bench.py pull     # empty pull ÷ hello-world, SQLite and PostgreSQL
    .venv/bin/python scripts/bench.py pull50   # 50-job pull ÷ hello-world (PostgreSQL)
    .venv/bin/python scripts/bench.py import [--rows 100000]     # jobs import rows/s
    .venv/bin/python scripts/bench.py inbox [--inbox-jobs 300]   # inbox ÷ the domain directly
    .venv/bin/python scripts/bench.py push [--pushes 1000]       # worker ÷ raw keep-alive sends
    .venv/bin/python scripts/bench.py joblist [--scale 1000000]  # job list at scale ÷ at 1,000
    .venv/bin/python scripts/bench.py sync     # the commit-ordered feed against a baseline

Needs PostgreSQL at ``BENCH_PG`` (default postgresql://postgres@127.0.0.1:5432/postgres) and
``redis-server``; installs Debian's ``wrk`` when missing and run as root. Every database,
server and worker it starts is dropped and stopped at the end. It prints a Markdown table
(the README's) and exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from benchlib import Result, print_table  # noqa: E402

PATHS = ("pull", "pull50", "import", "inbox", "push", "joblist")


def measure(path: str, opts: argparse.Namespace) -> list[Result]:
    """Run one path's measurement; return its table rows."""
    if path == "pull":
        from benchkit import pull

        return pull.run(opts.db or ["sqlite", "postgresql"], opts.jobs, opts.rounds, opts.seconds,
                        fifty=False)  # fmt: skip
    if path == "pull50":
        from benchkit import pull

        return pull.run(opts.db or ["postgresql"], opts.jobs, opts.rounds, opts.seconds, fifty=True)
    if path == "import":
        from benchkit import imports

        return imports.run(opts.db or ["sqlite", "postgresql"], opts.rows)
    if path == "inbox":
        from benchkit import inbox

        return inbox.run(opts.db or ["postgresql"], opts.inbox_jobs, opts.inbox_rounds)
    if path == "push":
        from benchkit import push

        return push.run(opts.pushes)
    if path == "joblist":
        from benchkit import joblist

        return joblist.run(opts.scale, opts.runs)
    raise ValueError(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=PATHS + ("all", "sync"))
    parser.add_argument("--db", action="append", choices=("sqlite", "postgresql"),
                        help="only this database (repeatable); default: the path's")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=10_000, help="jobs in the pull databases")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved pull rounds")
    parser.add_argument("--seconds", type=float, default=3, help="seconds per pull measurement")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the import CSV")
    parser.add_argument("--inbox-jobs", type=int, default=300, help="inbox lines of 10 actions")
    parser.add_argument("--inbox-rounds", type=int, default=3, help="interleaved inbox rounds")
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--scale", type=int, default=1_000_000, help="jobs of the large job list")
    parser.add_argument("--runs", type=int, default=40, help="job list page loads per size")
    opts, rest = parser.parse_known_args()
    if opts.path == "sync":
        import bench_sync

        sync = argparse.ArgumentParser(prog="bench.py sync")
        sync.add_argument("--baseline", default="7767896", help="revision to compare against")
        return bench_sync.main(sync.parse_args(rest).baseline)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    began = time.monotonic()
    results: list[Result] = []
    paths = PATHS if opts.path == "all" else (opts.path,)
    if opts.path == "all":
        paths = ("pull50", "import", "inbox", "push", "joblist")  # pull50 covers pull on PG
    for path in paths:
        print(f"== {path}", flush=True)
        if path == "pull50" and opts.path == "all":
            from benchkit import pull

            found = pull.run(opts.db or ["sqlite", "postgresql"], opts.jobs, opts.rounds,
                             opts.seconds, fifty=True)  # fmt: skip
        else:
            found = measure(path, opts)
        results += found
        print_table(found)
    if len(paths) > 1:
        print(f"\nall paths, {time.monotonic() - began:.0f} s:")
        print_table(results)
    return 0 if all(r.met is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
