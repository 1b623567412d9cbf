"""Device pulls under gunicorn against a bare JSON hello-world, side by side.

One gunicorn per database (2 processes x 4 threads, the production worker class), the same
``wrk`` client and connection count for every route. Each measurement of a pull sits between
two of hello-world (hello, empty, hello, 50-job, hello) and is divided by their mean, so a
machine whose speed drifts (a virtual machine's neighbours) moves both sides of a ratio
alike; the ratios are taken round by round, then their median.

- empty pull: the cursor a first pull returned, with nothing after it (truly empty: there is
  no settle window, the feed has nothing above that position);
- 50-job pull: a cursor from before the bench technician's 50 feed entries (50 job documents).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

from benchlib import Instance, Result, ensure_wrk, load, per_round, start_redis

CONNECTIONS = 8


def run(backends: list[str], jobs: int, rounds: int, seconds: float, fifty: bool) -> list[Result]:
    """Measure empty (and, with ``fifty``, 50-job) pulls against hello on each backend."""
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-bench-pull-"))
    redis, redis_url = start_redis(tmp)
    instances = [Instance(b, tmp, redis_url, backend=b) for b in backends]
    results: list[Result] = []
    try:
        for inst in instances:
            inst.create(jobs)
            inst.serve()
        for inst in instances:
            for url in (inst.hello, inst.empty, inst.changed):  # warm workers and pools
                load(wrk, url, inst.auth, CONNECTIONS, 1)
        r: dict[tuple[str, str], list[float]] = {}
        for _ in range(rounds):
            for inst in instances:
                paths = [("empty", inst.empty)] + ([("fifty", inst.changed)] if fifty else [])
                before = load(wrk, inst.hello, inst.auth, CONNECTIONS, seconds)["rps"]
                for key, url in paths:
                    got = load(wrk, url, inst.auth, CONNECTIONS, seconds)["rps"]
                    after = load(wrk, inst.hello, inst.auth, CONNECTIONS, seconds)["rps"]
                    r.setdefault((inst.backend, key), []).append(got)
                    r.setdefault((inst.backend, f"hello/{key}"), []).append((before + after) / 2)
                    r.setdefault((inst.backend, "hello"), []).append(before)
                    before = after
        client = f"{'wrk' if wrk else 'python threads'}, {CONNECTIONS} connections"
        for inst in instances:
            b = inst.backend
            hello = statistics.median(r[(b, "hello")])
            empty = statistics.median(r[(b, "empty")])
            results.append(
                Result(
                    f"empty pull ÷ hello-world ({b}, {jobs:,} jobs)",
                    f"{empty:,.0f} ÷ {hello:,.0f} req/s",
                    per_round(r[(b, "empty")], r[(b, "hello/empty")]),
                    ">=",
                    0.5,
                    f"gunicorn 2 × 4 threads, {client}, {rounds} rounds of {seconds:g} s, each "
                    "pull between two hello-world runs",
                )
            )
            if fifty:
                got = statistics.median(r[(b, "fifty")])
                results.append(
                    Result(
                        f"50-job pull ÷ hello-world ({b})",
                        f"{got:,.0f} ÷ {hello:,.0f} req/s",
                        per_round(r[(b, "fifty")], r[(b, "hello/fifty")]),
                        ">=",
                        0.2,
                    )
                )
        return results
    finally:
        for inst in instances:
            try:
                inst.drop()
            except Exception as exc:  # keep cleaning up the rest
                print(f"could not drop {inst.name}: {exc}")
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
