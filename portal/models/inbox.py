"""Inbox messages: every action a device uploaded, its attempts and its audit trail."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Model, UTCDateTime, utcnow
from portal.models.user import User


class MessageState(str, Enum):
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"  # "completed with errors"
    DISCARDED = "discarded"


# Not done: still to apply, being applied, or failed and holding its device's later actions.
UNFINISHED_STATES = (
    MessageState.QUEUED.value,
    MessageState.PROCESSING.value,
    MessageState.FAILED.value,
)


class ErrorCategory(str, Enum):
    AUTHORIZATION = "authorization"
    VALIDATION = "validation"
    CONFIGURATION = "configuration"
    CONFLICT = "conflict"
    INTERNAL = "internal"


class ActionType(str, Enum):
    STATUS_CHANGE = "status_change"
    REPORT_UPDATE = "report_update"
    PHOTO_ADDED = "photo_added"
    NOTE = "note"


class InboxMessage(Model):
    __tablename__ = "inbox_messages"
    __table_args__ = (
        # A job's line, in order: the processor reads the head of a line by this index.
        Index("ix_inbox_messages_line", "job_id", "state", "seq"),
        Index("ix_inbox_messages_state_received", "state", "received_at"),
        Index("ix_inbox_messages_device_job_seq", "device_id", "job_id", "seq"),
        # The cleaner finds old completed messages by this index.
        Index("ix_inbox_messages_state_processed", "state", "processed_at"),
        # Ids are never reused after the cleaner deletes the newest messages (SQLite would):
        # history entries, feed entries and pending photos name messages by id.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The client's UUID for the action: uploads are idempotent by it.
    action_id: Mapped[str] = mapped_column(String(36), unique=True)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True
    )
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # No foreign key: an action may name a job that does not exist (it then fails, visibly).
    job_id: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(30))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict[str, Any])
    # sha256 of the canonical upload, to tell a duplicate from a conflicting reuse of an id.
    payload_hash: Mapped[str] = mapped_column(String(64))
    client_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default=MessageState.QUEUED.value)
    error_category: Mapped[str | None] = mapped_column(String(20), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # An admin let this action go ahead without its missing predecessor.
    released: Mapped[bool] = mapped_column(default=False)
    # Why a queued action cannot run yet (its predecessor or its photo has not arrived).
    wait_reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    processing_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    technician: Mapped[User] = relationship()


class InboxAttempt(Model):
    """One try at applying a message."""

    __tablename__ = "inbox_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_messages.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    error_category: Mapped[str | None] = mapped_column(String(20), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker: Mapped[str] = mapped_column(String(200), default="")


class InboxAudit(Model):
    """Who did what to a message (retry, discard, edit, release), with before and after."""

    __tablename__ = "inbox_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("inbox_messages.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(20))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User | None] = relationship()


class InboxLineMark(Model):
    """The highest seq of a device's line on a job whose messages the cleaner deleted.

    A later action's predecessor may have been cleaned away; this mark tells the processor
    it did arrive, so the action does not wait for it forever.
    """

    __tablename__ = "inbox_line_marks"

    job_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The device's id, or 0 where the device record is gone (keeps the key not null).
    device_key: Mapped[int] = mapped_column(Integer, primary_key=True)
    cleaned_through: Mapped[int] = mapped_column(Integer, default=0)
