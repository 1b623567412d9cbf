"""Technicians and their phones: sync state at a glance, stale devices, token revocation."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from portal import localtime
from portal.dispatch import bp
from portal.dispatch.jobs_list import day_bounds
from portal.domain import user_admin
from portal.extensions import db
from portal.models import Device, Job, Role, Status, User

STALE_AFTER = timedelta(hours=24)
OPEN = [s.value for s in Status if not s.final]


def is_stale(device: Device, now: datetime) -> bool:
    """A signed-in device that has not synced successfully for 24 h needs a look."""
    if device.revoked_at is not None:
        return False
    return device.last_sync_at is None or now - device.last_sync_at > STALE_AFTER


@bp.route("/technicians")
def technicians():
    now = datetime.now(UTC)
    techs = list(
        db.session.scalars(
            select(User)
            .where(User.role == Role.TECHNICIAN.value)
            .order_by(User.active.desc(), User.name, User.email)
        )
    )
    by_tech: dict[int, list[Device]] = defaultdict(list)
    for device in db.session.scalars(
        select(Device).order_by(Device.last_sync_at.desc().nulls_last(), Device.id)
    ):
        by_tech[device.user_id].append(device)
    start, end = day_bounds(localtime.viewer_today())
    today = dict(
        db.session.execute(
            select(Job.assignee_id, func.count())
            .where(Job.scheduled_start >= start, Job.scheduled_start < end)
            .where(Job.status != Status.CANCELLED.value, Job.assignee_id.is_not(None))
            .group_by(Job.assignee_id)
        ).all()
    )
    open_jobs = dict(
        db.session.execute(
            select(Job.assignee_id, func.count())
            .where(Job.status.in_(OPEN), Job.assignee_id.is_not(None))
            .group_by(Job.assignee_id)
        ).all()
    )
    stale = {d.id for devs in by_tech.values() for d in devs if is_stale(d, now)}
    return render_template(
        "dispatch/technicians.html",
        techs=techs,
        devices=by_tech,
        today=today,
        open_jobs=open_jobs,
        stale=stale,
        now=now,
    )


@bp.route("/technicians/devices/<int:device_id>/revoke", methods=["POST"])
def device_revoke(device_id: int):
    device = db.session.get(Device, device_id)
    if device is None:
        abort(404, description="There is no such device.")
    owner = device.user.display_name
    user_admin.revoke_device(current_user._get_current_object(), device)
    db.session.commit()
    flash(f"The sign-in of {owner}'s {device.platform or 'device'} was revoked.", "success")
    return redirect(url_for("dispatch.technicians"))
