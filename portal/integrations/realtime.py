"""Emit live events to browsers, from the web process or a worker (through Redis)."""

from __future__ import annotations

import logging
from typing import Any

from portal.extensions import socketio

log = logging.getLogger(__name__)


class Room:
    INBOX = "inbox"  # admins and support
    JOBS = "jobs"  # every signed-in portal user

    @staticmethod
    def job(job_id: int) -> str:
        return f"job:{job_id}"


def emit(event: str, data: dict[str, Any], room: str) -> None:
    """Send ``event`` to everyone in ``room``; a fan-out failure is logged, never raised."""
    try:
        socketio.emit(event, data, to=room, namespace="/")
    except Exception:
        log.exception("could not emit %s to %s", event, room)
