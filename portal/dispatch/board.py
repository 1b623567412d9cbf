"""The day board: a row per technician with their jobs on a time axis, and an unassigned lane.

The day is the viewer's local day, midnight to midnight, in their zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask import flash, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import localtime, params
from portal.dispatch import bp
from portal.dispatch.jobs_list import day_bounds, technicians
from portal.domain import wallclock
from portal.extensions import db
from portal.models import Job, Status, User

DEFAULT_HOURS = (7, 19)  # the axis always shows at least a working day
DEFAULT_LENGTH = timedelta(hours=1)  # a job without an end is drawn one hour long


@dataclass
class Card:
    job: Job
    left: float  # percent of the axis
    width: float
    row: int = 0  # stacked sub-row when jobs overlap


@dataclass
class Lane:
    technician: User | None
    cards: list[Card] = field(default_factory=list)
    rows: int = 1


def _stack(cards: list[Card]) -> int:
    """Put overlapping cards on separate sub-rows; return how many sub-rows the lane needs."""
    ends: list[float] = []
    for card in sorted(cards, key=lambda c: c.left):
        for i, end in enumerate(ends):
            if card.left >= end:
                card.row, ends[i] = i, card.left + card.width
                break
        else:
            card.row = len(ends)
            ends.append(card.left + card.width)
    return max(1, len(ends))


@dataclass
class Hour:
    left: float  # percent of the axis
    label: str  # 9 AM or 09:00
    zone: str = ""  # the zone's abbreviation where the clocks just changed (CET after CEST)


def _axis_hours(ticks: list[datetime], first: int, last: int, width: float) -> list[Hour]:
    """Label each hour of the axis in local time; where the clocks change, add the zone."""
    tz = localtime.viewer_zone()
    hours = []
    for i in range(first, last):
        offset = ticks[i].astimezone(tz).utcoffset()
        changed = i > 0 and offset != ticks[i - 1].astimezone(tz).utcoffset()
        zone = localtime.zone_abbr(ticks[i]) if changed else ""
        hours.append(Hour(round((i - first) * width, 3), localtime.fmt_hour(ticks[i]), zone))
    return hours


def _clock_change(start: datetime, end: datetime, tz) -> str | None:
    """Describe a daylight-saving change on the day, for the board's heading."""
    shifts = wallclock.shifts_between(start, end, tz)
    if not shifts:
        return None
    shift = shifts[0]
    length = round((end - start).total_seconds() / 3600, 1)
    hours = f"{length:g} hours"
    was = localtime.fmt_clock((shift.at + shift.before).replace(tzinfo=None))
    now = localtime.fmt_clock((shift.at + shift.after).replace(tzinfo=None))
    way = "forward" if shift.forward else "back"
    return f"This day has {hours}: the clocks go {way} from {was} to {now}."


def board_for(day: date) -> dict:
    """Return the lanes, axis hours and unscheduled count of the viewer's local ``day``.

    The axis runs from local midnight to the next local midnight, hour by hour in real time,
    so a daylight-saving day has 23 or 25 hours and a job keeps its true length.
    """
    tz = localtime.viewer_zone()
    start, end = day_bounds(day)
    jobs = list(
        db.session.scalars(
            select(Job)
            .options(selectinload(Job.assignee))
            .where(
                Job.scheduled_start >= start - timedelta(days=1),
                Job.scheduled_start < end,
                Job.status != Status.CANCELLED.value,
            )
            .order_by(Job.scheduled_start, Job.id)
        )
    )
    spans = []
    for job in jobs:
        s = job.scheduled_start
        if s is None:  # the query asked for a start; this tells the type checker
            continue
        e = job.scheduled_end or s + DEFAULT_LENGTH
        if e > start or s >= start:
            spans.append((job, max(s, start), min(max(e, s + timedelta(minutes=15)), end)))
    length = math.ceil((end - start).total_seconds() / 3600)
    ticks = [start + timedelta(hours=h) for h in range(length + 1)]

    def elapsed(moment: datetime) -> float:
        return (moment - start).total_seconds() / 3600

    work_start, work_end = (
        elapsed(wallclock.from_local_lenient(datetime.combine(day, time(h)), tz))
        for h in DEFAULT_HOURS
    )
    first = min([math.floor(work_start)] + [math.floor(elapsed(s)) for _, s, _ in spans])
    last = max([math.ceil(work_end)] + [math.ceil(elapsed(e)) for _, _, e in spans])
    first, last = max(first, 0), min(max(last, first + 1), length)
    axis_start = ticks[first]
    axis_len = (last - first) * 3600
    techs = technicians()
    lanes = {t.id: Lane(t) for t in techs}
    unassigned = Lane(None)
    for job, s, e in spans:
        left = (s - axis_start).total_seconds() / axis_len * 100
        width = (e - s).total_seconds() / axis_len * 100
        card = Card(job, round(left, 3), round(max(width, 1.5), 3))
        if job.assignee_id is None:
            unassigned.cards.append(card)
        else:
            lane = lanes.get(job.assignee_id)
            if lane is None:  # an inactive technician still holding work that day
                lane = lanes[job.assignee_id] = Lane(job.assignee)
            lane.cards.append(card)
    for lane in [unassigned, *lanes.values()]:
        lane.rows = _stack(lane.cards)
    now = datetime.now(UTC)
    now_left = (now - axis_start).total_seconds() / axis_len * 100 if start <= now < end else None
    if now_left is not None and not 0 <= now_left <= 100:
        now_left = None
    hour_width = 100 / (last - first)
    return {
        "lanes": list(lanes.values()),
        "unassigned": unassigned,
        "hours": _axis_hours(ticks, first, last, hour_width),
        "hour_width": hour_width,
        "now_left": now_left,
        "technicians": techs,
        "day_hours": round((end - start).total_seconds() / 3600, 2),
        "clock_change": _clock_change(start, end, tz),
        "zone_label": localtime.zone_abbr(start + (end - start) / 2),
    }


@bp.route("/board")
def board():
    day, note = params.day(request.args.get("day"))
    if note:
        flash(note if day else note + " Showing today.", "warning")
    day = day or localtime.viewer_today()
    data = board_for(day)
    return render_template(
        "dispatch/board.html",
        day=day,
        prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        today=localtime.viewer_today(),
        **data,
    )
