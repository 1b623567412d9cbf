"""Who a job was ever assigned to: the phones that may still send actions for it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db
from portal.models import JobAssignment, utcnow


def remember(job_id: int, technician_id: int) -> None:
    """Note that the job was the technician's (idempotent)."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(JobAssignment)
        .values(job_id=job_id, technician_id=technician_id, first_assigned_at=utcnow())
        .on_conflict_do_nothing()
    )


def ever_assigned(job_ids: set[int], technician_id: int) -> set[int]:
    """Return which of ``job_ids`` were ever assigned to the technician."""
    if not job_ids:
        return set()
    return set(
        db.session.scalars(
            select(JobAssignment.job_id).where(
                JobAssignment.technician_id == technician_id, JobAssignment.job_id.in_(job_ids)
            )
        )
    )
