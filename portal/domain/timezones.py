"""Local time: the company's zone, each person's zone, local days, times people type in.

The database and the device API keep UTC. People see and enter wall-clock time in a zone:
their own if they chose one, otherwise the company's (an admin setting; until one is set,
the ``FIELDSYNC_TIMEZONE`` setting, else UTC). Daylight saving is handled exactly:

- a wall-clock time that does not exist (the clocks spring forward over it) is refused with
  an error that names the gap;
- a wall-clock time that exists twice (the clocks fall back over it) means its first
  occurrence: the earlier instant, still on the summer offset. Pages show such a time with
  its offset so that nobody has to guess.
"""

from __future__ import annotations

import time as _clock
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import localedata
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.domain.errors import ValidationError
from portal.effects import after_commit
from portal.extensions import db
from portal.models import CompanySetting, User, utcnow

TIMEZONE_KEY = "timezone"
# Other processes (web workers, RQ workers) see an admin's change of the company zone within
# this many seconds; the process that made it sees it at once. It keeps the device pull, the
# hottest route, from paying a query for a value that changes once in a company's life.
CACHE_SECONDS = 10.0
REGIONS = (
    "Africa/",
    "America/",
    "Antarctica/",
    "Arctic/",
    "Asia/",
    "Atlantic/",
    "Australia/",
    "Europe/",
    "Indian/",
    "Pacific/",
)

_company_cache: dict[Any, tuple[float, str]] = {}


# --- zones ----------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def get_zone(name: str) -> ZoneInfo:
    """Return the zone named ``name`` (an IANA name); raise KeyError when there is none."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        raise KeyError(name)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise KeyError(name) from None


def is_zone(name: str | None) -> bool:
    try:
        get_zone(name or "")
    except KeyError:
        return False
    return True


def check_zone(name: str | None, field: str = "timezone") -> str:
    """Return ``name`` stripped if it names a time zone; raise ValidationError otherwise."""
    name = (name or "").strip()
    if not is_zone(name):
        raise ValidationError(
            f"'{name}' is not a time zone. Pick one from the list (e.g. Europe/Amsterdam).", field
        )
    return name


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Return the zones people pick from: every Region/City name of the zone database, and UTC."""
    names = sorted(n for n in available_timezones() if n.startswith(REGIONS))
    return (*names, "UTC")


# --- the company's zone and a person's zone ------------------------------------------------


# Each engine's database address, rendered once: hashing a URL renders it every time.
_addresses: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _cache_key() -> str:
    """Return the database's address: apps on one database share its cached zone."""
    engine = db.engine
    key = _addresses.get(engine)
    if key is None:
        key = _addresses[engine] = engine.url.render_as_string(hide_password=False)
    return key


def company_zone_name() -> str:
    """Return the company's zone: the admin's setting, else ``FIELDSYNC_TIMEZONE``, else UTC."""
    key = _cache_key()
    hit = _company_cache.get(key)
    now = _clock.monotonic()
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    stored = db.session.scalar(
        select(CompanySetting.value).where(CompanySetting.key == TIMEZONE_KEY)
    )
    fallback = str(current_app.config.get("FIELDSYNC_TIMEZONE") or "UTC")
    name = stored if stored is not None and is_zone(stored) else fallback
    _company_cache[key] = (now, name)
    return name


def company_zone() -> ZoneInfo:
    return get_zone(company_zone_name())


def company_zone_is_set() -> bool:
    """Tell whether an admin chose the company's zone (rather than the default applying)."""
    return (
        db.session.scalar(select(CompanySetting.key).where(CompanySetting.key == TIMEZONE_KEY))
        is not None
    )


def set_company_zone(name: str, user: User | None) -> str:
    """Make ``name`` the company's zone; return it. Stored times do not move."""
    name = check_zone(name)
    row = db.session.get(CompanySetting, TIMEZONE_KEY, with_for_update=True)
    if row is None:
        try:
            with db.session.begin_nested():
                row = CompanySetting(key=TIMEZONE_KEY, value=name)
                db.session.add(row)
        except IntegrityError:
            # Another admin saved the first value meanwhile; this later one overwrites it.
            row = db.session.get(
                CompanySetting, TIMEZONE_KEY, with_for_update=True, populate_existing=True
            )
    assert row is not None  # inserted above, or found after losing the race to insert it
    row.value = name
    row.updated_at = utcnow()
    row.updated_by_id = user.id if user else None
    after_commit(_remember_company_zone, _cache_key(), name)
    return name


def _remember_company_zone(key: str, name: str) -> None:
    _company_cache[key] = (_clock.monotonic(), name)


def forget_cached_settings() -> None:
    """Drop the cached company zone (the database was emptied or changed behind our back)."""
    _company_cache.clear()


def user_zone_name(user: User | None) -> str:
    """Return the zone ``user`` sees times in: their own, else the company's."""
    own = getattr(user, "timezone", None)
    return own if own and is_zone(own) else company_zone_name()


def set_user_zone(user: User, name: str | None) -> None:
    """Give ``user`` their own zone; None or empty makes them follow the company's."""
    user.timezone = check_zone(name) if name else None


def is_date_format(code: str | None) -> bool:
    """Tell whether ``code`` names an English locale (the portal's date formats)."""
    if not code:
        return False
    return (code == "en" or code.startswith("en_")) and localedata.exists(code)


def set_user_preferences(user: User, zone_name: str | None, date_format: str | None) -> None:
    """Set ``user``'s own zone and date format; empty values follow the company and browser."""
    if date_format and not is_date_format(date_format):
        raise ValidationError("Pick a date and time format from the list.", "locale")
    set_user_zone(user, zone_name)
    user.locale = date_format or None


# --- local days and wall-clock times --------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """Wall-clock times skipped when the clocks spring forward: [starts, ends) on ``day``."""

    zone: str
    starts: datetime  # naive wall-clock time, e.g. 02:00
    ends: datetime  # e.g. 03:00

    def __str__(self) -> str:
        return (
            f"clocks go forward from {self.starts:%H:%M} to {self.ends:%H:%M} on "
            f"{self.starts:%Y-%m-%d} in {self.zone}"
        )


class NonexistentTimeError(ValidationError):
    """A wall-clock time that the clocks skip (it falls in a daylight-saving gap)."""

    def __init__(self, local: datetime, gap: Gap, field: str | None = None):
        super().__init__(
            f"{local:%Y-%m-%d %H:%M} does not exist: {gap}. "
            f"Pick a time before {gap.starts:%H:%M} or from {gap.ends:%H:%M} on.",
            field,
        )
        self.local = local
        self.gap = gap


def _offset(moment: datetime, tz: tzinfo) -> timedelta:
    return moment.astimezone(tz).utcoffset() or timedelta(0)


def _change_between(lo: datetime, hi: datetime, tz: tzinfo) -> datetime:
    """Return the first instant in (lo, hi] whose UTC offset differs from ``lo``'s (bisection).

    The caller knows the offset changes once in that span; transitions fall on whole seconds.
    """
    before = _offset(lo, tz)
    a, b = int(lo.timestamp()), int(hi.timestamp()) + 1
    while b - a > 1:
        mid = (a + b) // 2
        if _offset(datetime.fromtimestamp(mid, UTC), tz) == before:
            a = mid
        else:
            b = mid
    return datetime.fromtimestamp(b, UTC)


def gap_of(local: datetime, tz: ZoneInfo) -> Gap | None:
    """Return the daylight-saving gap the naive wall-clock time ``local`` falls in, if any."""
    first = local.replace(tzinfo=tz, fold=0)
    if first.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == local:
        return None
    before = first.utcoffset() or timedelta(0)
    after = local.replace(tzinfo=tz, fold=1).utcoffset() or timedelta(0)
    # The jump happens at one instant T with T + before <= local < T + after.
    lo = (local - after).replace(tzinfo=UTC)
    at = _change_between(lo, (local - before).replace(tzinfo=UTC), tz)
    return Gap(
        str(tz.key),
        (at + before).replace(tzinfo=None),
        (at + after).replace(tzinfo=None),
    )


def from_local(local: datetime, tz: ZoneInfo, field: str | None = None) -> datetime:
    """Return the UTC instant of the wall-clock time ``local`` in ``tz``.

    A time in a spring-forward gap raises NonexistentTimeError; a time that the fall-back
    repeats is its first occurrence (the earlier instant). An aware ``local`` keeps its offset.
    """
    if local.tzinfo is not None:
        return local.astimezone(UTC)
    gap = gap_of(local, tz)
    if gap is not None:
        raise NonexistentTimeError(local, gap, field)
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def from_local_lenient(local: datetime, tz: ZoneInfo) -> datetime:
    """Like :func:`from_local`, but a time in a gap becomes the first instant after the gap."""
    gap = gap_of(local, tz)
    if gap is not None:
        local = gap.ends
    return local.replace(tzinfo=tz, fold=0).astimezone(UTC)


def is_ambiguous(moment: datetime, tz: ZoneInfo) -> bool:
    """Tell whether the wall-clock time of ``moment`` in ``tz`` happens twice that day."""
    naive = moment.astimezone(tz).replace(tzinfo=None)
    return (
        naive.replace(tzinfo=tz, fold=0).utcoffset() != naive.replace(tzinfo=tz, fold=1).utcoffset()
        and gap_of(naive, tz) is None
    )


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the UTC instants of the local midnight that starts ``day`` and of the next one.

    A daylight-saving day is 23 or 25 hours long; where midnight itself is skipped, the day
    starts at the first instant after the gap.
    """
    start = from_local_lenient(datetime.combine(day, time.min), tz)
    end = from_local_lenient(datetime.combine(day + timedelta(days=1), time.min), tz)
    return start, end


def today(tz: ZoneInfo, now: datetime | None = None) -> date:
    """Return the local date in ``tz`` now."""
    return (now or utcnow()).astimezone(tz).date()


@dataclass(frozen=True)
class Shift:
    """A change of the clocks: at ``at`` (UTC) the offset goes from ``before`` to ``after``."""

    at: datetime
    before: timedelta
    after: timedelta

    @property
    def forward(self) -> bool:
        return self.after > self.before


def shifts_between(start: datetime, end: datetime, tz: ZoneInfo) -> list[Shift]:
    """Return the clock changes of ``tz`` in [start, end) (hour by hour, then bisected)."""
    out: list[Shift] = []
    step = timedelta(hours=1)
    lo = start
    while lo < end:
        hi = min(lo + step, end)
        if _offset(lo, tz) != _offset(hi, tz):
            at = _change_between(lo, hi, tz)
            if at < end:
                out.append(Shift(at, _offset(lo, tz), _offset(at, tz)))
        lo = hi
    return out
