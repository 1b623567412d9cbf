"""Wall-clock arithmetic in a zone: daylight-saving gaps and overlaps, local days, clock changes.

Pure functions of a zone and a time (no settings, no database): which zone applies to whom is
:mod:`portal.domain.timezones`. A wall-clock time that does not exist (the clocks spring
forward over it) is refused with an error that names the gap; one that exists twice (the
clocks fall back over it) means its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from portal.domain.errors import ValidationError
from portal.models import utcnow


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
