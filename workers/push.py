"""Push tasks: send one push from the push log through FCM."""

from __future__ import annotations

from portal.domain.push import sender


def send(push_id: int) -> str:
    """Send push ``push_id`` (rescheduling itself on throttling); return its new state."""
    return sender.deliver(push_id)


def flush() -> int:
    """Send every push whose coalescing window has closed; return how many were handled."""
    return sender.flush()
