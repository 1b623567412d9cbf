"""Inbox tasks: process one job's line of device actions."""

from __future__ import annotations

import logging

from portal.domain.inbox import processor

log = logging.getLogger(__name__)


def process_line(job_id: int, retry_failed: bool = False) -> dict[str, int]:
    """Apply the job's queued actions in order (``retry_failed``: try its failed head again).

    Never raises: a database outage is logged and the checker picks the line up later.
    """
    try:
        return processor.process_line(int(job_id), retry_failed)
    except Exception:
        log.exception("inbox line %s could not be processed; the checker will retry", job_id)
        return {"error": 1}
