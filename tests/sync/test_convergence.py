"""Every phone converges on the truth, whatever happened around it (random histories).

``FIELDSYNC_HISTORIES`` sets how many histories run (the test command runs a few dozen per
database; ``FIELDSYNC_HISTORIES=10000`` is the long run), ``FIELDSYNC_HISTORY_STEPS`` their
length, and ``FIELDSYNC_HISTORY_SEED`` the first seed (random otherwise, and printed). A
failing history is shrunk and printed as its seed and its steps.
"""

from __future__ import annotations

import os
import random
import time

import redis as redis_lib

from portal.extensions import db
from tests.conftest import BACKEND, reset_database
from tests.sync.histories import Divergence, Step, World, generate

HISTORIES = int(os.environ.get("FIELDSYNC_HISTORIES") or 30)
STEPS = int(os.environ.get("FIELDSYNC_HISTORY_STEPS") or 60)
FIRST_SEED = os.environ.get("FIELDSYNC_HISTORY_SEED")
SHRINK_BUDGET = 150  # replays spent making a failing history short


def _replay(app, base_url: str, redis_url: str, seed: int, steps: list[Step]) -> str | None:
    """Run a history from an empty company; return why it failed, or None."""
    db.session.remove()  # this test's own session must not keep a snapshot of the last one
    reset_database(app)
    redis_lib.Redis.from_url(redis_url).flushdb()
    world = World(app, base_url, seed, BACKEND)
    try:
        for step in steps:
            world.run(step)
        world.quiesce()
        world.check()
        return None
    except Divergence as exc:
        return str(exc)
    finally:
        world.close()


def _shrink(app, base_url, redis_url, seed: int, steps: list[Step], why: str):
    """Drop steps (halves, then one by one) while the history still fails."""
    budget = SHRINK_BUDGET
    chunk = len(steps) // 2
    while chunk >= 1 and budget > 0:
        i = 0
        while i < len(steps) and budget > 0:
            candidate = steps[:i] + steps[i + chunk :]
            budget -= 1
            failure = _replay(app, base_url, redis_url, seed, candidate)
            if failure is not None:
                steps, why = candidate, failure
            else:
                i += chunk
        chunk //= 2
    return steps, why


def test_every_phone_converges_on_a_fresh_first_sync(app, live_server, redis_url):
    first = int(FIRST_SEED) if FIRST_SEED else random.randrange(10**9)
    concurrent = BACKEND == "postgresql"
    began = time.monotonic()
    for seed in range(first, first + HISTORIES):
        steps = generate(seed, STEPS, concurrent)
        why = _replay(app, live_server, redis_url, seed, steps)
        if why is None:
            continue
        short, why = _shrink(app, live_server, redis_url, seed, steps, why)
        listing = "\n".join(f"  {n + 1:>3}. {s}" for n, s in enumerate(short))
        raise AssertionError(
            f"History {seed} diverged: {why}\n"
            f"Replay it with FIELDSYNC_HISTORY_SEED={seed} FIELDSYNC_HISTORIES=1 "
            f"FIELDSYNC_TEST_DB={BACKEND} scripts/test.sh tests/sync/test_convergence.py\n"
            f"It still fails with these {len(short)} of its {len(steps)} steps:\n{listing}"
        )
    print(
        f"\n{HISTORIES} histories of {STEPS} steps from seed {first} converged on {BACKEND} "
        f"in {time.monotonic() - began:.0f} s"
    )
