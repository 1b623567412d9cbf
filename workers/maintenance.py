"""Periodic maintenance: the inbox checker and cleaner, the history cleaner, the push sweeper."""

from __future__ import annotations

import json
import time

from portal.domain import retention
from portal.domain.health import PERIODIC_RUNS_KEY
from portal.domain.inbox import maintenance as inbox_maintenance
from portal.domain.push import sender
from portal.extensions import get_redis


def _mark(name: str, started: float, result: dict) -> None:
    """Record the last run of a periodic task (the admin status page shows it)."""
    get_redis().hset(
        PERIODIC_RUNS_KEY,
        name,
        json.dumps({"started": started, "finished": time.time(), "result": result}),
    )


def check_inbox() -> dict:
    """Retry failed inbox messages and re-enqueue idle lines."""
    started = time.time()
    result: dict = inbox_maintenance.check()
    _mark("inbox-checker", started, result)
    return result


def clean_inbox() -> dict:
    """Delete completed inbox messages older than the retention period."""
    started = time.time()
    result: dict = inbox_maintenance.clean()
    _mark("inbox-cleaner", started, result)
    return result


def clean_history() -> dict:
    """Compact and expire the sync feed; trim the push log, old attempts, sign-in records."""
    started = time.time()
    result: dict = retention.clean()
    _mark("history-cleaner", started, result)
    return result


def sweep_pushes() -> dict:
    """Send due pushes whose send task was lost (Redis lost its queue, a worker died)."""
    started = time.time()
    result: dict = {"handled": sender.flush()}
    _mark("push-sweeper", started, result)
    return result
