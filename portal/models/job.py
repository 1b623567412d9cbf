"""Jobs (orders), their history, and the configuration that governs them."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Model, UTCDateTime, utcnow
from portal.models.user import User


class Status(str, Enum):
    NEW = "new"
    ASSIGNED = "assigned"
    EN_ROUTE = "en_route"
    STARTED = "started"
    PAUSED = "paused"
    FINISHED = "finished"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (Status.FINISHED, Status.CANCELLED)

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class Job(Model):
    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_status_start", "status", "scheduled_start"),
        Index("ix_jobs_assignee_start", "assignee_id", "scheduled_start"),
        # The job list sorts by these; an index lets page 1 stop after one page of rows.
        Index("ix_jobs_customer", "customer"),
        Index("ix_jobs_title", "title"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    customer: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(400), default="")
    scheduled_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    scheduled_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # active_history: the per-status counts need the old status even when it was not read.
    status: Mapped[str] = mapped_column(String(20), default=Status.NEW.value, active_history=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict[str, Any])
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    assignee: Mapped[User | None] = relationship()

    @property
    def status_enum(self) -> Status:
        return Status(self.status)


class JobEvent(Model):
    """One entry of a job's history: who changed what, from what to what, when."""

    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "portal", "device", "import" or "system".
    origin: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(30))
    # The job's version after this change: a stale editor sees what changed since theirs.
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # {field: [before, after]} for updates; free-form details otherwise.
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict[str, Any])
    note: Mapped[str] = mapped_column(Text, default="")
    # The inbox message whose action made this change (a device change), if any.
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)

    actor: Mapped[User | None] = relationship()


class JobAssignment(Model):
    """A technician a job was ever assigned to: their phone may still send actions for it.

    An action for a job that was never the technician's is refused at upload; one for a job
    that was theirs (reassigned or cancelled while the phone was offline) is kept and shown.
    """

    __tablename__ = "job_assignments"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    technician_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    first_assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatusTransition(Model):
    """A configured status transition; ``portal_only`` ones cannot come from a device."""

    __tablename__ = "status_transitions"
    __table_args__ = (UniqueConstraint("from_status", "to_status", name="uq_status_transitions"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    portal_only: Mapped[bool] = mapped_column(default=False)


class FieldType(str, Enum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"


class ReportField(Model):
    """A field of the technician's report; ``required_for`` a status makes it mandatory."""

    __tablename__ = "report_fields"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(60), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    type: Mapped[str] = mapped_column(String(20), default=FieldType.TEXT.value)
    required_for: Mapped[str | None] = mapped_column(String(20), nullable=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class JobStatusCount(Model):
    """How many jobs are in each status, kept in step with every flush (the list's picture).

    Counting 100,000 jobs per page view would make the job list slower as the business
    grows; this table makes the counts one small read. ``portal.domain.counts`` maintains it.
    """

    __tablename__ = "job_status_counts"

    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
