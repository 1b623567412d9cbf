"""Helpers shared by the dispatcher views: loading a job, the actor, domain errors."""

from __future__ import annotations

from flask import abort, flash
from flask_login import current_user
from sqlalchemy import select

from portal import params
from portal.domain import jobs as job_ops
from portal.domain.errors import ConflictError, DomainError
from portal.extensions import db
from portal.models import Job, Role, User


def actor() -> job_ops.Actor:
    """Return the signed-in dispatcher as the actor of a portal change."""
    return job_ops.Actor.portal(current_user._get_current_object())


def load_job(job_id: int, for_update: bool = False) -> Job:
    """Return the job or answer 404; ``for_update`` locks its row until commit."""
    job = job_ops.get_for_update(job_id) if for_update else db.session.get(Job, job_id)
    if job is None:
        abort(404, description=f"There is no job {job_id}.")
    return job


def technician(raw) -> User | None:
    """Return the technician a form picked (None for nobody); unknown ids count as nobody."""
    if raw in (None, "", "None"):
        return None
    user_id = params.whole(raw)
    if user_id is None:
        return None
    return db.session.scalar(
        select(User).where(User.id == user_id, User.role == Role.TECHNICIAN.value)
    )


def flash_refusal(exc: DomainError) -> None:
    """Tell the dispatcher why nothing was saved (and, on a conflict, what changed)."""
    db.session.rollback()
    flash(exc.message, "error")


def conflict_rows(exc: ConflictError) -> list[tuple[str, str, str, str]]:
    """Return (field key, label, before, now) rows of what someone else changed."""
    from portal.dispatch.history import field_label, show_value

    return [
        (k, field_label(k), show_value(k, v[0]), show_value(k, v[1]))
        for k, v in exc.changes.items()
    ]
