"""Enqueue worker tasks by name, so the web side never imports ``workers``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rq import Queue

from portal.extensions import get_redis


class QueueName:
    INBOX = "inbox"
    PUSH = "push"
    DEFAULT = "default"

    ALL = ("inbox", "push", "default")


class Task:
    """The worker tasks the web side enqueues, by dotted name (a test checks each exists)."""

    PROCESS_LINE = "workers.inbox.process_line"
    FLUSH_PUSHES = "workers.push.flush"


def queue(name: str) -> Queue:
    return Queue(name, connection=get_redis())


def enqueue(
    task: str,
    *args: Any,
    queue_name: str = QueueName.DEFAULT,
    at: datetime | None = None,
    delay: float | None = None,
    job_id: str | None = None,
    **kwargs: Any,
):
    """Enqueue ``task`` (a dotted path in ``workers``) now, at ``at`` or after ``delay`` s."""
    q = queue(queue_name)
    # RQ refuses positional args next to an explicit kwargs=: pass both explicitly.
    opts: dict[str, Any] = {"job_id": job_id} if job_id else {}
    if at is not None:
        return q.enqueue_at(at, task, args=args, kwargs=kwargs, **opts)
    if delay:
        return q.enqueue_in(timedelta(seconds=delay), task, args=args, kwargs=kwargs, **opts)
    return q.enqueue(task, args=args, kwargs=kwargs, **opts)
