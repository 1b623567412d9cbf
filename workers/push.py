"""Push tasks: send the due pushes from the push log through FCM."""

from __future__ import annotations

from portal.domain.push import sender


def flush() -> int:
    """Send every push whose coalescing window has closed; return how many were handled."""
    return sender.flush()
