"""The day board: a row per technician with their jobs on a time axis, and an unassigned lane."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask import flash, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import params
from portal.dispatch import bp
from portal.dispatch.jobs_list import day_bounds, technicians
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


def board_for(day: date) -> dict:
    """Return the lanes, axis hours and unscheduled count of ``day``."""
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
        e = job.scheduled_end or s + DEFAULT_LENGTH
        if e > start or s >= start:
            spans.append((job, max(s, start), min(max(e, s + timedelta(minutes=15)), end)))
    first = min([DEFAULT_HOURS[0]] + [s.hour for _, s, _ in spans])
    last = max(
        [DEFAULT_HOURS[1]] + [math.ceil((e - start).total_seconds() / 3600) for _, _, e in spans]
    )
    axis_start = start + timedelta(hours=first)
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
    return {
        "lanes": list(lanes.values()),
        "unassigned": unassigned,
        "hours": list(range(first, last)),
        "hour_width": 100 / (last - first),
        "now_left": now_left,
        "technicians": techs,
    }


@bp.route("/board")
def board():
    day, note = params.day(request.args.get("day"))
    if note:
        flash(note if day else note + " Showing today.", "warning")
    day = day or datetime.now(UTC).date()
    data = board_for(day)
    return render_template(
        "dispatch/board.html",
        day=day,
        prev_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        today=datetime.now(UTC).date(),
        **data,
    )
