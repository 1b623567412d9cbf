"""Which zone applies: the company's, each person's; their settings and date formats.

The database and the device API keep UTC. People see and enter wall-clock time in a zone:
their own if they chose one, otherwise the company's (an admin setting; until one is set,
the ``FIELDSYNC_TIMEZONE`` setting, else UTC). Arithmetic in a zone (daylight-saving gaps
and overlaps, local days) is :mod:`portal.domain.wallclock`.
"""

from __future__ import annotations

import time as _clock
import weakref
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
