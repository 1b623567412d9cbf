"""Dates and times on pages: the viewer's zone and date format, and the template filters.

Flask-Babel selects, per request, the zone (the signed-in person's own, else the company's)
and the locale that decides the format of dates and times: 12- or 24-hour clock, day before
or after month. The portal speaks English, so the locale is an English of the person's
region: their choice in "My settings", else the best match of the browser's languages
(``nl-NL`` reads dates as English does in the Netherlands: 24-hour, day first). Babel
formats every date and time; templates never format one by hand.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import groupby
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, dates, localedata
from babel.core import get_global
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_locale, get_timezone, refresh
from flask_login import current_user
from markupsafe import Markup, escape

from portal.domain import timezones, wallclock
from portal.models import utcnow

babel = Babel()

# Date formats people may choose in "My settings" (any English of a region works by browser).
FORMATS = (
    "en_US",
    "en_GB",
    "en_CA",
    "en_AU",
    "en_NZ",
    "en_IE",
    "en_IN",
    "en_ZA",
    "en_150",
    "en_001",
)
DEFAULT_LOCALE = "en"


# --- selection -------------------------------------------------------------------------------


def _user():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user
    return None


def select_timezone() -> str:
    return timezones.user_zone_name(_user())


def select_locale() -> str:
    user = _user()
    if user is not None and user.locale and timezones.is_date_format(user.locale):
        return user.locale
    return browser_locale()


def browser_locale() -> str:
    """Return the English date format that best matches the browser's languages."""
    if has_request_context():
        for tag, _quality in request.accept_languages:
            found = english_for(tag)
            if found:
                return found
    return current_app.config.get("BABEL_DEFAULT_LOCALE") or DEFAULT_LOCALE


@lru_cache(maxsize=256)
def english_for(tag: str) -> str | None:
    """Return the English locale of the region of language tag ``tag`` (None if unknown)."""
    try:
        parsed = Locale.parse(tag.replace("-", "_"))
    except (ValueError, TypeError, UnknownLocaleError):
        return None
    if parsed.language == "en" and parsed.territory is None:
        return DEFAULT_LOCALE
    territory = parsed.territory
    if territory is None:  # de → Germany, ja → Japan
        likely = get_global("likely_subtags").get(parsed.language) or ""
        territory = likely.rsplit("_", 1)[-1] if "_" in likely else None
    if territory and localedata.exists(f"en_{territory}"):
        return f"en_{territory}"
    # No English of that region: keep the region's own clock (24- or 12-hour).
    clock24 = "H" in parsed.time_formats["short"].pattern
    return "en_150" if clock24 else "en_001"


def format_name(code: str) -> str:
    return Locale.parse(code).get_display_name("en") or code


def example(code: str, moment: datetime) -> str:
    """Show how ``moment`` reads in the date format ``code`` (for the format picker)."""
    loc = Locale.parse(code)
    moment = local(moment)
    day = dates.format_skeleton("yMMMEd", moment, locale=loc)
    clock = dates.format_time(moment, "short", locale=loc)
    return loc.datetime_formats["medium"].format(clock, day)


@dataclass
class _View:
    """What one request formats with, chosen once: a list formats hundreds of times."""

    locale: Locale
    zone: ZoneInfo
    today: date
    memo: dict = field(default_factory=dict)  # formatted dates and times of this page


_views: ContextVar[tuple[object, _View] | None] = ContextVar("fieldsync_view", default=None)


def _view() -> _View:
    """Return the viewer's locale, zone and today, as Flask-Babel selected them."""
    if not has_request_context():
        zone = timezones.company_zone()
        return _View(get_locale() or Locale.parse(DEFAULT_LOCALE), zone, wallclock.today(zone))
    owner = cast(Any, request)._get_current_object()  # the request itself, not its proxy
    hit = _views.get()
    if hit is not None and hit[0] is owner:
        return hit[1]
    zone = timezones.get_zone(str(get_timezone()))
    view = _View(get_locale() or Locale.parse(DEFAULT_LOCALE), zone, wallclock.today(zone))
    _views.set((owner, view))
    return view


def viewer_zone() -> ZoneInfo:
    """Return the zone of the person viewing the page."""
    return _view().zone


def viewer_zone_name() -> str:
    return str(viewer_zone().key)


def viewer_offset_minutes() -> int:
    """Return the viewer's zone's UTC offset now, in minutes (east positive)."""
    delta = utcnow().astimezone(viewer_zone()).utcoffset() or timedelta(0)
    return int(delta.total_seconds() // 60)


def viewer_today() -> date:
    return _view().today


def local(value: datetime, tz: str | None = None) -> datetime:
    """Return ``value`` as wall-clock time in the viewer's zone (or zone ``tz``).

    A naive ``value`` is UTC, as everything stored is (never the server's own zone).
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(timezones.get_zone(tz) if tz else _view().zone)


# --- formats ---------------------------------------------------------------------------------


def _locale() -> Locale:
    return _view().locale


def offset_text(moment: datetime) -> str:
    """Return the UTC offset of an aware time as +02:00."""
    delta = moment.utcoffset() or timedelta(0)
    sign = "-" if delta < timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _combine(day: str, clock: str) -> str:
    return _locale().datetime_formats["medium"].format(clock, day)


@lru_cache(maxsize=512)
def _pattern(locale: Locale, kind: str, key: str) -> dates.DateTimePattern:
    """Return the locale's pattern for a skeleton (``kind`` "skeleton") or a time length.

    Cached: matching a skeleton costs more than formatting, and a list formats hundreds.
    """
    if kind == "time":
        return locale.time_formats[key]
    if kind == "date":
        return locale.date_formats[key]
    best = dates.match_skeleton(key, locale.datetime_skeletons) or key
    return dates.parse_pattern(locale.datetime_skeletons.get(best, best))


def _format(moment: date | datetime, kind: str, key: str) -> str:
    locale = _locale()
    return _pattern(locale, kind, key).apply(moment, locale)


def zone_of(moment: datetime) -> ZoneInfo:
    """Return the zone of a time from :func:`local` (always a named zone)."""
    return cast(ZoneInfo, moment.tzinfo)


def fmt_time(value: datetime | None, seconds: bool = False, tz: str | None = None) -> str:
    """1:05 PM or 13:05 (with seconds: 1:05:09 PM); the offset where the time is ambiguous."""
    if value is None:
        return ""
    moment = local(value, tz)
    memo = _view().memo
    key = ("time", moment.replace(tzinfo=None, microsecond=0), moment.utcoffset(), seconds, tz)
    text = memo.get(key)
    if text is None:
        text = _format(moment, "time", "medium" if seconds else "short")
        if wallclock.is_ambiguous(moment, zone_of(moment)):
            text += f" ({offset_text(moment)})"
        memo[key] = text
    return text


def fmt_hour(value: datetime) -> str:
    """Label a whole hour for an axis: 9 AM where clocks run 12 hours, 09:00 where 24."""
    twelve = "h" in _locale().time_formats["short"].pattern
    return _format(local(value), "skeleton", "h" if twelve else "Hm")


def fmt_clock(value: datetime) -> str:
    """Format the wall-clock time of a naive ``value`` as it stands (no zone conversion)."""
    return _format(value, "time", "short")


def fmt_date(value: date | datetime | None, style: str = "medium") -> str:
    """Mon, May 4, 2026 (``full``: Monday, May 4, 2026; ``short``: Mon, May 4; ``day``: Mon 4)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value).date()
    memo = _view().memo
    key = ("date", value, style)
    text = memo.get(key)
    if text is None:
        if style == "full":
            text = _format(value, "date", "full")
        else:
            skeleton = {"short": "MMMEd", "day": "Ed"}.get(style, "yMMMEd")
            text = _format(value, "skeleton", skeleton)
        memo[key] = text
    return text


def fmt_datetime(value: datetime | None, seconds: bool = False, zone: bool = False) -> str:
    """Mon, May 4, 2026, 1:05 PM; ``zone`` adds the zone's abbreviation (CEST)."""
    if value is None:
        return ""
    text = _combine(fmt_date(value), fmt_time(value, seconds))
    return f"{text} {zone_abbr(value)}" if zone else text


def relative_day(value: datetime) -> str | None:
    """Return Today, Yesterday or Tomorrow for a time on one of those local days."""
    delta = (local(value).date() - viewer_today()).days
    return {0: "Today", -1: "Yesterday", 1: "Tomorrow"}.get(delta)


def fmt_when(value: datetime | None) -> str:
    """Today, 1:05 PM / Yesterday, … / Mon, May 4, 1:05 PM / Mon, May 4, 2025, 1:05 PM."""
    if value is None:
        return ""
    day = relative_day(value)
    if day is None:
        same_year = local(value).year == viewer_today().year
        day = fmt_date(value, "short" if same_year else "medium")
    return _combine(day, fmt_time(value))


def fmt_until(end: datetime | None, start: datetime | None) -> str:
    """The end of a span: its time alone when it ends on the start's local day."""
    if end is None:
        return ""
    if start is not None and local(start).date() == local(end).date():
        return fmt_time(end)
    return fmt_when(end)


def fmt_span(start: datetime | None, end: datetime | None) -> str:
    """Today, 1:00 PM – 3:30 PM; the end with its own day when it ends on another one."""
    if start is None:
        return ""
    text = fmt_when(start)
    return f"{text} – {fmt_until(end, start)}" if end is not None else text


def zone_abbr(value: datetime | None = None) -> str:
    """Return the zone's abbreviation at ``value`` (CEST, EDT, JST; +03 where there is none)."""
    moment = local(value) if value is not None else local(utcnow())
    return moment.tzname() or offset_text(moment)


def ago(value: datetime | None) -> Markup:
    """A <time> saying '3 min ago' whose tooltip is the local date and time with the zone."""
    from portal.templating import timeago

    if value is None:
        return Markup(escape(timeago(None)))
    # Escaped by hand: Markup.format costs more than the rest of a list row.
    title = escape(fmt_datetime(value, seconds=True, zone=True))
    return Markup(f'<time datetime="{value.isoformat()}" title="{title}">{timeago(value)}</time>')


def zone_groups(extra: str | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Return the zones to pick from as (region, [(name, label)]), grouped by region."""
    names = list(timezones.zone_names())
    if extra and extra not in names and timezones.is_zone(extra):
        names.append(extra)  # an alias a browser gave, e.g. Asia/Calcutta
    groups = []
    for region, group in groupby(sorted(names), key=lambda n: n.split("/", 1)[0]):
        members = list(group)
        if members == ["UTC"]:
            groups.append(("Universal", [("UTC", "Coordinated Universal Time")]))
        else:
            groups.append((region, [(n, n.replace("_", " ")) for n in members]))
    return groups


def input_value(value: datetime | None) -> str:
    """Return the value a datetime-local input holds for ``value``: local, to the minute."""
    if value is None:
        return ""
    moment = local(value)
    return f"{moment.date().isoformat()}T{moment.hour:02d}:{moment.minute:02d}"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters.update(
        datetime=fmt_datetime,
        date=fmt_date,
        time=fmt_time,
        when=fmt_when,
        span=fmt_span,
        until=fmt_until,
        ago=ago,
        zone_abbr=zone_abbr,
    )
    app.jinja_env.globals.update(
        viewer_zone_name=viewer_zone_name,
        viewer_today=viewer_today,
        viewer_offset_minutes=viewer_offset_minutes,
        company_zone_name=timezones.company_zone_name,
        zone_abbr=zone_abbr,
    )
    # Flask-Babel keeps its choice in ``g``, which outlives a request where an app context
    # was already pushed (commands, tests): each request chooses afresh.
    app.before_request(refresh)
