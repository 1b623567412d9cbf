"""The push log: every push the system decided to send, and what became of it."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.base import Model, UTCDateTime, utcnow
from portal.models.device import Device
from portal.models.user import User


class PushState(str, Enum):
    QUEUED = "queued"
    SENT = "sent"
    RETRYING = "retrying"
    FAILED = "failed"
    TOKEN_REMOVED = "token_removed"
    RECORDED = "recorded"  # no FCM credentials configured: kept, not sent


class Push(Model):
    __tablename__ = "pushes"
    __table_args__ = (
        Index("ix_pushes_state_created", "state", "created_at"),
        # The coalescing look-up: is a push to this device still waiting to go out?
        Index("ix_pushes_device_state", "device_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True, index=True
    )
    technician_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    reason: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), default=PushState.QUEUED.value)
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(String(400), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict[str, Any])
    collapse_key: Mapped[str] = mapped_column(String(100), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # How many job changes this push stands for (a burst coalesces into one push per device).
    coalesced: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    fcm_message_name: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    device: Mapped[Device | None] = relationship()
    technician: Mapped[User | None] = relationship()


class PushJob(Model):
    """Which jobs a push speaks for: a burst over several jobs is one push per device."""

    __tablename__ = "push_jobs"

    push_id: Mapped[int] = mapped_column(
        ForeignKey("pushes.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
