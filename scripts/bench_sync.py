"""Benchmark the commit-ordered sync feed against a baseline revision, side by side in one run.

Run: ``.venv/bin/python scripts/bench_sync.py [--baseline REV]`` (default: the revision
before feed positions; needs what ``bench.py pull`` needs). The baseline is checked out
into a temporary detached worktree; both trees run on this checkout's ``.venv`` with their
own code and migrations, each on its own scratch PostgreSQL database (10,000 jobs, 1,000
technicians, a bench technician with 50 jobs, all feed entries a day old) served by its own
gunicorn (2 workers x 4 threads). It measures, in interleaved rounds:

- pulls with ``wrk``: bare JSON hello, empty-delta pull, 50-changed-jobs pull (req/s);
- right after one job change: what 10 pulls in 5 s (every 0.5 s, each with the cursor
  the previous one returned) send; the baseline re-sends entries younger than 5 s;
- the write path, in child processes on each tree's code: a job update (``jobs.update`` +
  commit, split at the commit), and technician B's update rate (1 thread) while 4 threads
  of another process update technician A's jobs, divided by B's rate alone; meanwhile it
  samples ``pg_stat_activity`` for how often A's and B's backends wait on a lock.

Exit 0 when the empty pull / hello is >= 0.34 and >= 0.95 x the baseline's, and B's ratio is
>= 0.8 x the baseline's. Everything it starts or creates is stopped and removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from benchlib import ROOT, Instance, ensure_wrk, load, start_redis

SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
UPDATES = 100  # timed job updates per round and tree
WINDOW, POLL = 5.0, 0.5  # the baseline's settle window; how often a phone polls after a push
CONNECTIONS = 8
A_THREADS = 4
WAITS = ("lock", "wal")
ACTIVE_WRITERS = """SELECT application_name, wait_event_type, wait_event FROM pg_stat_activity
WHERE datname = current_database() AND state = 'active' AND application_name LIKE 'bench-_'"""


class Writer:
    """A child process on one tree's code that runs the domain's write path on command."""

    def __init__(self, inst: Instance, role: str):
        # Named connections, so that pg_stat_activity tells whose backend waits on a lock.
        url = inst.env["DATABASE_URL"] + f"?application_name=bench-{role}"
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--writer"],
            cwd=inst.tree, env=dict(inst.env, DATABASE_URL=url), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        where = self.ask("where")["portal"]
        assert where.startswith(str(inst.tree) + "/"), (where, inst.tree)

    def ask(self, command: str, **args) -> dict:
        self.send(command, **args)
        return self.answer()

    def send(self, command: str, **args) -> None:
        self.proc.stdin.write(json.dumps({"do": command, **args}) + "\n")
        self.proc.stdin.flush()

    def answer(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("a writer died")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def writer() -> None:
    """Serve write-path commands (JSON lines on stdin) against the tree's code."""
    sys.path.insert(0, os.environ["BENCH_TREE"])
    from sqlalchemy import event, select

    import portal
    from portal import create_app
    from portal.domain import jobs
    from portal.extensions import db
    from portal.models import Job, User

    app = create_app()
    with app.app_context():
        who = dict(db.session.execute(select(User.email, User.id)).all())
        a_id, dispatcher = who["bench-tech@example.com"], who["bench-dispatcher@example.com"]
        b_id = db.session.scalar(select(Job.assignee_id).where(Job.id == 51))
        owned = select(Job.id).order_by(Job.id)
        a_jobs = list(db.session.scalars(owned.where(Job.assignee_id == a_id)))
        b_jobs = list(db.session.scalars(owned.where(Job.assignee_id == b_id)))
        edits, statements = iter(range(10**9)), Counter()
        event.listen(db.engine, "before_cursor_execute", lambda *_: statements.update("s"))

    def update(job_id: int) -> tuple[float, float]:
        """Change a job's title as a dispatcher; return (seconds before commit, commit)."""
        began = time.perf_counter()
        actor = jobs.Actor.portal(db.session.get(User, dispatcher))
        jobs.update(jobs.get_for_update(job_id), {"title": f"Visit {job_id}/{next(edits)}"}, actor)
        wrote = time.perf_counter()
        db.session.commit()
        return wrote - began, time.perf_counter() - wrote

    def run(ids: list[int], stop: threading.Event, rates: list[float]) -> None:
        with app.app_context():  # its own session and connection
            began, done = time.perf_counter(), 0
            while not stop.is_set():
                update(ids[done % len(ids)])
                done += 1
            rates.append(done / (time.perf_counter() - began))

    def rate(ids: list[int], threads: int, seconds: float) -> float:
        """Update ``ids`` from ``threads`` threads for ``seconds``; return updates/s."""
        stop, rates = threading.Event(), []
        running = [threading.Thread(target=run, args=(ids[k::threads], stop, rates))
                   for k in range(threads)]  # fmt: skip
        for t in running:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in running:
            t.join()
        return sum(rates)

    for line in sys.stdin:
        cmd = json.loads(line)
        with app.app_context():
            if cmd["do"] == "where":
                out = {"portal": portal.__file__}
            elif cmd["do"] == "change":
                update(a_jobs[0])
                out = {"at": time.time()}
            elif cmd["do"] == "update":
                statements.clear()
                times = [update(a_jobs[i % len(a_jobs)]) for i in range(cmd["n"])]
                out = {
                    "write": [w * 1000 for w, _ in times],
                    "commit": [c * 1000 for _, c in times],
                    "statements": statements["s"] / cmd["n"],
                }
            else:
                ids = a_jobs if cmd["do"] == "a" else b_jobs
                out = {"rate": rate(ids, cmd["threads"], cmd["seconds"])}
        print(json.dumps(out), flush=True)


def after_change(inst: Instance, write: Writer) -> list[tuple[int, int]]:
    """Return (bytes, jobs) of each pull in the window after one change, cursor carried on."""
    import requests

    http = requests.Session()
    cursor = http.get(inst.empty, headers=inst.auth).json()["cursor"]
    at = write.ask("change")["at"]
    pulls = []
    for k in range(round(WINDOW / POLL)):
        time.sleep(max(0.0, at + k * POLL - time.time()))
        resp = http.get(inst.pull_url(cursor), headers=inst.auth)
        resp.raise_for_status()
        pulls.append((len(resp.content), len(resp.json()["jobs"])))
        cursor = resp.json()["cursor"]
    return pulls


def cursor_form(cursor: str) -> str:
    payload = cursor.split(".")[0]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()


def lock_waits(pg_url: str, stop: threading.Event, seen: Counter) -> None:
    """Sample the writers' backends: how often each is active, waiting on a lock, on the WAL."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as pg:
        while not stop.wait(0.005):
            for name, kind, event in pg.execute(ACTIVE_WRITERS):
                seen[name[-1]] += 1
                seen[name[-1] + "_lock"] += kind == "Lock"
                seen[name[-1] + "_wal"] += event in ("WALSync", "WALWrite")  # commit's flush


def concurrency(inst: Instance, a: Writer, b: Writer) -> dict:
    """B's update rate alone and while A's threads write (another process), in ABBA order."""
    rates: dict[str, list[float]] = {"alone": [], "with": [], "a": []}
    seen: Counter = Counter()
    for phase in ("alone", "with", "with", "alone"):
        stop = threading.Event()
        sampler = threading.Thread(target=lock_waits, args=(inst.pg_url, stop, seen))
        if phase == "with":
            a.send("a", threads=A_THREADS, seconds=SECONDS / 2 + 0.6)
            time.sleep(0.3)
            sampler.start()
        rates[phase].append(b.ask("b", threads=1, seconds=SECONDS / 2)["rate"])
        if phase == "with":
            stop.set()
            sampler.join()
            rates["a"].append(a.answer()["rate"])
    got = {k: statistics.mean(v) for k, v in rates.items()}
    return got | {f"{k}_{w}": seen[f"{k}_{w}"] / max(1, seen[k]) for k in "ab" for w in WAITS}


def main(baseline: str) -> int:
    wrk = ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="fieldsync-syncbench-"))
    base_tree = tmp / "baseline"
    redis, redis_url = start_redis(tmp)
    trees = [Instance("before", tmp, redis_url, base_tree), Instance("after", tmp, redis_url)]
    writers: dict[str, tuple[Writer, Writer]] = {}
    try:
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), baseline],
                       cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        for inst in trees:
            inst.create(10_000)
            inst.serve()
            print(f"{inst.label}: {inst.tree}, cursor {cursor_form(inst.empty_cursor)}")
            for url in (inst.hello, inst.empty, inst.changed):  # warm workers and pools
                load(wrk, url, inst.auth, CONNECTIONS, 1)
        r: dict[tuple[str, str], list] = {}
        # Interleaved rounds, the trees' order alternating: a neighbour's load hits both.
        for n in range(ROUNDS):
            for key in ("hello", "empty", "changed"):  # the trees back to back, per route
                for inst in trees if n % 2 == 0 else trees[::-1]:
                    rps = load(wrk, getattr(inst, key), inst.auth, CONNECTIONS, SECONDS)["rps"]
                    r.setdefault((inst.label, key), []).append(rps)

        writers = {inst.label: (Writer(inst, "a"), Writer(inst, "b")) for inst in trees}
        settle = {inst.label: after_change(inst, writers[inst.label][0]) for inst in trees}
        for n in range(ROUNDS):
            for inst in trees if n % 2 == 0 else trees[::-1]:
                a, b = writers[inst.label]
                got = a.ask("update", n=UPDATES)
                r.setdefault((inst.label, "write"), []).extend(got["write"])
                r.setdefault((inst.label, "commit"), []).extend(got["commit"])
                r[inst.label, "statements"] = got["statements"]
                r.setdefault((inst.label, "conc"), []).append(concurrency(inst, a, b))
        return report(wrk, r, settle)
    finally:
        for write in (w for pair in writers.values() for w in pair):
            write.close()
        for inst in trees:
            try:
                inst.drop()
            except Exception as exc:  # keep cleaning up the rest
                print(f"could not drop {inst.name}: {exc}", file=sys.stderr)
        redis.terminate()
        redis.wait(10)
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT,
                       capture_output=True)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


def report(wrk: str | None, r: dict, settle: dict) -> int:
    med, trees = statistics.median, ("before", "after")

    def rounds(a: tuple, b: tuple) -> str:
        """The median of per-round ratios a / b, and their range."""
        each = sorted(x / y for x, y in zip(r[a], r[b], strict=True))
        r[a + b] = med(each)
        return f"{r[a + b]:.2f} ({each[0]:.2f}-{each[-1]:.2f})"

    print(f"\nwrk, {CONNECTIONS} connections, {ROUNDS} interleaved rounds of {SECONDS:g}s; "
          "gunicorn 2 workers x 4 threads per tree; medians (range of the per-round ratios)"
          if wrk else "\n(python threads instead of wrk)")  # fmt: skip
    print(f"{'':28}{'before':>18}{'after':>18}")
    for key, title in (("hello", "hello-world req/s"), ("empty", "empty-delta pull req/s"),
                       ("changed", "50-changed-jobs pull req/s")):  # fmt: skip
        print(f"{title:<28}" + "".join(f"{med(r[t, key]):18.0f}" for t in trees))
    for key, title in (("empty", "empty pull / hello"), ("changed", "50-job pull / hello")):
        print(f"{title:<28}" + "".join(f"{rounds((t, key), (t, 'hello')):>18}" for t in trees))
    print(f"empty pull, after / before: {rounds(('after', 'empty'), ('before', 'empty'))}")

    print(f"\n{len(settle['after'])} pulls every {POLL:g}s from one job change on, each with "
          "the cursor the previous one returned (first pull / the others):")  # fmt: skip
    for t in trees:
        (size, jobs), rest = settle[t][0], settle[t][1:]
        print(f"  {t:<6} {jobs} job, {size} B / {sum(j for _, j in rest)} jobs re-sent, "
              f"{sum(b for b, _ in rest)} B in all")  # fmt: skip

    print(f"\nwrite path, {ROUNDS} x {UPDATES} job updates per tree (jobs.update + commit), ms:")
    cost, conc = {}, {}
    for t in trees:
        cost[t] = med(a + b for a, b in zip(r[t, "write"], r[t, "commit"], strict=True))
        p90 = statistics.quantiles(r[t, "commit"], n=10)[-1]
        print(f"  {t:<6} median {cost[t]:5.2f} (before commit {med(r[t, 'write']):.2f}, "
              f"commit {med(r[t, 'commit']):.2f}, p90 {p90:.2f}); "
              f"{r[t, 'statements']:g} SQL statements and a COMMIT")  # fmt: skip
    print(f"  update cost after / before: {cost['after'] / cost['before']:.2f}")
    print(f"technician B's writer (1 thread) while {A_THREADS} threads of another process "
          "update technician A's jobs:")  # fmt: skip
    for t in trees:
        each = sorted(x["with"] / x["alone"] for x in r[t, "conc"])
        conc[t] = med(each)
        print(
            f"  {t:<6} B {med(x['alone'] for x in r[t, 'conc']):.0f}/s alone, "
            f"{med(x['with'] for x in r[t, 'conc']):.0f}/s with A: {conc[t]:.2f} "
            f"({each[0]:.2f}-{each[-1]:.2f}); A {med(x['a'] for x in r[t, 'conc']):.0f}/s"
        )
        print("         waiting (share of active samples): " + ", ".join(
            f"{k.upper()} on {w} {med(x[f'{k}_{w}'] for x in r[t, 'conc']):.0%}"
            for k in "ab" for w in WAITS))  # fmt: skip

    empty = {t: r[(t, "empty", t, "hello")] for t in trees}
    checks = [
        ("after: empty pull / hello >= 0.34", empty["after"] >= 0.34),
        ("after: empty pull / hello >= 0.95 x before's", empty["after"] >= 0.95 * empty["before"]),
        ("after: B's ratio >= 0.8 x before's", conc["after"] >= 0.8 * conc["before"]),
    ]
    print()
    for label, met in checks:
        print(f"{label:<48} {'ok' if met else 'MISSED'}")
    return 0 if all(met for _, met in checks) else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--writer"]:
        writer()
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="7767896", help="revision to compare against")
    sys.exit(main(parser.parse_args().baseline))
