"""Push tasks: send one push from the push log through FCM."""

from __future__ import annotations

from portal.domain import push_sender


def send(push_id: int) -> str:
    """Send push ``push_id`` (rescheduling itself on throttling); return its new state."""
    return push_sender.deliver(push_id)
