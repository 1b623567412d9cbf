"""Periodic work, as data: what runs, how often, on which queue."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from workers import maintenance


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Callable[..., Any]
    interval: int  # seconds
    queue: str = "default"
    timeout: int = 600


def periodic_jobs(config: Mapping[str, Any]) -> list[Periodic]:
    """Return the periodic jobs for this configuration."""
    return [
        Periodic("inbox-checker", maintenance.check_inbox, config["INBOX_RETRY_MINUTES"] * 60),
        Periodic("inbox-cleaner", maintenance.clean_inbox, 24 * 3600, timeout=3600),
        Periodic("history-cleaner", maintenance.clean_history, 24 * 3600, timeout=3600),
        # Sends normally follow their own scheduled task; this only catches lost ones.
        Periodic("push-sweeper", maintenance.sweep_pushes, 60, queue="push"),
    ]
