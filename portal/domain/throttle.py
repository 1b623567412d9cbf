"""Failed sign-ins, counted in Redis through Flask-Limiter's storage (a moving window).

Three counters, so that neither a password sprayed over many accounts from one address nor a
password guessed for one account from many addresses gets far:

- per account and client address: ``LOGIN_MAX_FAILURES`` (the person who mistyped);
- per account, from anywhere: ``LOGIN_ACCOUNT_MAX_FAILURES``;
- per client address, across accounts: ``LOGIN_CLIENT_MAX_FAILURES``.

Each counts failures within ``LOGIN_LOCKOUT_SECONDS``. A success clears the first two, never
the address's counter: one valid account must not buy an address more guesses at others.
When Redis does not answer, sign-in goes on unthrottled and the error is logged: the portal
stays usable while the queues' Redis is being repaired.
"""

from __future__ import annotations

import logging
import math
import time

from flask import current_app
from limits import RateLimitItem, parse

from portal.extensions import limiter

log = logging.getLogger(__name__)
SCOPE = "signin-failures"


def _counters(email: str, client: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
    cfg = current_app.config
    window = int(cfg["LOGIN_LOCKOUT_SECONDS"])

    def item(setting: str) -> RateLimitItem:
        return parse(f"{max(1, int(cfg[setting]))} per {window} seconds")

    return [
        (item("LOGIN_MAX_FAILURES"), (SCOPE, "pair", email, client)),
        (item("LOGIN_ACCOUNT_MAX_FAILURES"), (SCOPE, "account", email)),
        (item("LOGIN_CLIENT_MAX_FAILURES"), (SCOPE, "client", client)),
    ]


def wait_seconds(email: str, client: str) -> int | None:
    """Return how long this sign-in must wait (seconds), or None when it may go ahead."""
    longest = 0.0
    try:
        for item, keys in _counters(email, client):
            if not limiter.limiter.test(item, *keys):
                reset_at = limiter.limiter.get_window_stats(item, *keys).reset_time
                longest = max(longest, reset_at - time.time(), 1)
    except Exception:  # Redis away: availability first, and say so in the log
        log.exception("sign-in throttling is unavailable; letting the attempt through")
        return None
    return math.ceil(longest) if longest else None


def record_failure(email: str, client: str) -> None:
    """Count one failed sign-in on all three counters."""
    try:
        for item, keys in _counters(email, client):
            limiter.limiter.hit(item, *keys)
    except Exception:
        log.exception("could not count a failed sign-in")


def record_success(email: str, client: str) -> None:
    """Forget this account's failures (the address's counter stays)."""
    try:
        for item, keys in _counters(email, client)[:2]:
            limiter.limiter.clear(item, *keys)
    except Exception:
        log.exception("could not clear the failed sign-ins of an account")
