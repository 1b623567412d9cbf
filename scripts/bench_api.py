"""Benchmark the device sync pull under gunicorn, side by side with a bare JSON route.

Run: ``.venv/bin/python scripts/bench_api.py`` (needs PostgreSQL at
``BENCH_PG`` = postgresql://postgres@127.0.0.1:5432/postgres and redis-server; installs
Debian's ``wrk`` when missing and run as root, otherwise falls back to Python threads).

It creates a scratch database, bulk-loads jobs and feed entries with COPY, serves the app
with gunicorn (2 processes x 4 threads, the same for every route), and prints:
  (1) empty-delta pull throughput / hello-world throughput      (target >= 0.30)
  (2) empty-delta pull median latency, 1,000,000 / 10,000 jobs  (target <= 1.2)
  (3) 50-changed-jobs pull throughput / hello-world throughput  (target >= 0.10)
Everything it starts or creates is stopped and dropped at the end.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib import Instance, ensure_wrk, load, start_redis

SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def main() -> int:
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-apibench-"))
    redis, redis_url = start_redis(tmp)
    small, large = Instance("10k", tmp, redis_url), Instance("1m", tmp, redis_url)
    try:
        small.create(10_000)
        large.create(1_000_000)
        small.serve()
        large.serve()
        for inst in (small, large):  # serve() checked both cursors
            for url in (inst.hello, inst.empty, inst.changed):  # warm workers and pools
                load(wrk, url, inst.auth, 8, 1)

        conc = 8
        keys = ("hello", "empty", "changed", "empty1m", "lat10k", "lat1m")
        r: dict[str, list] = {k: [] for k in keys}
        # Interleaved rounds: on a shared machine, neighbours' load hits every route alike.
        for _ in range(ROUNDS):
            r["hello"].append(load(wrk, small.hello, small.auth, conc, SECONDS)["rps"])
            r["empty"].append(load(wrk, small.empty, small.auth, conc, SECONDS)["rps"])
            r["changed"].append(load(wrk, small.changed, small.auth, conc, SECONDS)["rps"])
            r["empty1m"].append(load(wrk, large.empty, large.auth, conc, SECONDS)["rps"])
            r["lat10k"].append(load(wrk, small.empty, small.auth, 1, SECONDS)["p50"])
            r["lat1m"].append(load(wrk, large.empty, large.auth, 1, SECONDS)["p50"])

        med = {k: statistics.median(v) for k, v in r.items()}
        print(f"\nload generator: {'wrk' if wrk else 'python threads'}, {conc} connections, "
              f"{ROUNDS} interleaved rounds of {SECONDS:g}s; gunicorn 2 workers x 4 threads "
              "per database; medians")  # fmt: skip
        print(f"hello-world            {med['hello']:8.0f} req/s")
        print(f"empty-delta pull (10k) {med['empty']:8.0f} req/s")
        print(f"empty-delta pull (1M)  {med['empty1m']:8.0f} req/s")
        print(f"50-changed-jobs pull   {med['changed']:8.0f} req/s")
        print(f"median latency, 1 connection: 10k jobs {med['lat10k'] * 1000:.2f} ms, "
              f"1M jobs {med['lat1m'] * 1000:.2f} ms")  # fmt: skip

        def per_round(key: str, base: str) -> float:
            return statistics.median(a / b for a, b in zip(r[key], r[base], strict=True))

        ratios = [
            ("(1) empty pull / hello throughput", per_round("empty", "hello"), ">=", 0.30),
            ("(2) empty pull p50 1M / 10k jobs", per_round("lat1m", "lat10k"), "<=", 1.2),
            ("(3) 50-job pull / hello throughput", per_round("changed", "hello"), ">=", 0.10),
        ]
        ok = True
        for label, value, op, target in ratios:
            met = value >= target if op == ">=" else value <= target
            ok &= met
            print(f"{label:<38} {value:5.2f}  (target {op} {target}) {'ok' if met else 'MISSED'}")
        return 0 if ok else 1
    finally:
        for inst in (large, small):
            try:
                inst.drop()
            except Exception as exc:  # keep cleaning up the rest
                print(f"could not drop {inst.name}: {exc}", file=sys.stderr)
        redis.terminate()
        redis.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
