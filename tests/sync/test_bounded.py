"""Under a fleet working day after day, the feed and the push log stop growing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from portal.domain import jobs as job_ops
from portal.domain import retention
from portal.domain.inbox import maintenance, processor
from portal.extensions import db, sqlite_writer
from portal.models import FeedEntry, FeedKind, InboxMessage, MessageState, Push, SyncPosition, User
from portal.simulator.fleet import Fleet

DAYS = 45
TECHNICIANS = 3


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _plan_the_day(technicians: list[int], dispatcher_id: int, day: datetime) -> None:
    actor = job_ops.Actor.portal(db.session.get(User, dispatcher_id))
    for n, tech_id in enumerate(technicians):
        for k in range(2):
            start = day.replace(hour=8 + 2 * k + n)
            job = job_ops.create({"title": f"Visit {k}", "scheduled_start": start}, actor)
            job_ops.assign(job, db.session.get(User, tech_id), actor)
    db.session.commit()


def _drain_inbox() -> None:
    lines = set(
        db.session.scalars(
            select(InboxMessage.job_id).where(InboxMessage.state == MessageState.QUEUED.value)
        )
    )
    db.session.rollback()
    for job_id in sorted(lines):
        processor.process_line(job_id)


@pytest.mark.slow
def test_feed_and_push_log_stay_bounded_over_many_days(app, live_server, make_user):
    """Rows kept level off after the retention period while the changes keep coming."""
    techs = [make_user("technician", email=f"tech{n}@example.com") for n in range(TECHNICIANS)]
    tech_ids = [t.id for t in techs]
    dispatcher_id = make_user("dispatcher").id
    db.session.remove()
    start = datetime(2027, 1, 4, 6, tzinfo=UTC)
    fleet = Fleet(
        live_server,
        [(f"tech{n}@example.com", "password123") for n in range(TECHNICIANS)],
        sync_every=600,
        seed=11,
    )
    kept: list[tuple[int, int]] = []
    written: list[int] = []
    token = sqlite_writer.set(True)
    try:
        for day in range(DAYS):
            today = start + timedelta(days=day)
            with time_machine.travel(today, tick=True):
                _plan_the_day(tech_ids, dispatcher_id, today)
                for _ in range(12):  # ten hours of work in 50-minute steps
                    fleet.step(3000)
                    _drain_inbox()
                maintenance.clean()
                retention.clean()
                kept.append((_count(FeedEntry), _count(Push)))
                written.append(int(db.session.scalar(select(func.sum(SyncPosition.position))) or 0))
                db.session.remove()
    finally:
        sqlite_writer.reset(token)
    assert fleet.totals["accepted"] > 100 and fleet.totals["failed syncs"] == 0
    month = app.config["SYNC_FEED_RETENTION_DAYS"]
    feed_rows = [f for f, _ in kept]
    # Kept: only what the last month wrote (one horizon marker per technician besides),
    # and of that only the newest entry per job and per action...
    assert feed_rows[-1] <= written[-1] - written[-month - 2] + TECHNICIANS
    # ...while everything written since the first day would be several times more.
    assert feed_rows[-1] < 0.6 * written[-1]
    oldest = db.session.scalar(
        select(func.min(FeedEntry.created_at)).where(FeedEntry.kind != FeedKind.HORIZON.value)
    )
    assert oldest >= start + timedelta(days=DAYS - month - 2)
    oldest_push = db.session.scalar(select(func.min(Push.created_at)))
    push_month = app.config["PUSH_LOG_RETENTION_DAYS"]
    assert oldest_push >= start + timedelta(days=DAYS - push_month - 2)
    assert kept[push_month][1] > 0 and kept[-1][1] <= kept[push_month + 1][1] * 1.5
