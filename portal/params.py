"""Read numbers and days from query strings and forms, within what the database and dates hold.

``"²".isdigit()`` is true and ``int("²")`` fails; twenty digits overflow SQLite's INTEGER;
``date(9999, 12, 31) + 1 day`` overflows. Everything a person can type into a URL goes
through here, so the answer is a clear message or a sensible default, never a 500.
"""

from __future__ import annotations

import re
from datetime import date

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # the database's INTEGER range
# The days a person can look at: far beyond any job, and still ± a day away from overflow.
FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2999, 12, 31)
_DIGITS = re.compile(r"[0-9]{1,10}")


def whole(raw: object, minimum: int = 1, maximum: int = MAX_ID) -> int | None:
    """Return ``raw`` (text or int) as a whole number in [minimum, maximum], or None."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    else:
        text = raw.strip() if isinstance(raw, str) else ""
        if not _DIGITS.fullmatch(text):
            return None
        value = int(text)
    return value if minimum <= value <= maximum else None


def ids(values: list[str]) -> list[int]:
    """Return the valid ids among posted values (checkboxes), in order, without repeats."""
    found = (whole(v) for v in values)
    return list(dict.fromkeys(v for v in found if v is not None))


def day(raw: object) -> tuple[date | None, str | None]:
    """Return (day, message): None without a value; a day outside the range comes clamped.

    The message tells the person what was done with what they typed; None when nothing was.
    """
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return None, None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None, f"'{text[:40]}' is not a date (use YYYY-MM-DD)."
    if value < FIRST_DAY:
        return FIRST_DAY, f"Days start at {FIRST_DAY.isoformat()}; showing that day."
    if value > LAST_DAY:
        return LAST_DAY, f"Days end at {LAST_DAY.isoformat()}; showing that day."
    return value, None


def page(raw: object, pages: int) -> tuple[int, str | None]:
    """Return (page number within 1..pages, message when the asked one was not there)."""
    pages = max(1, pages)
    text = raw.strip() if isinstance(raw, str) else ""
    if not text:
        return 1, None
    if not re.fullmatch(r"[0-9]{1,30}", text):
        return 1, f"'{text[:40]}' is not a page number; showing the first page."
    asked = int(text)
    if asked < 1:
        return 1, None
    if asked > pages:
        return pages, f"There is no page {text[:20]}; showing the last page ({pages})."
    return asked, None


class IdConverter(IntegerConverter):
    """The ``<int:...>`` of every route: ids past the database's INTEGER range are a 404."""

    def __init__(self, map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
