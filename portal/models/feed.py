"""The per-technician sync feed: an append-only log a device pulls by range."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.base import UTCDateTime, utcnow


class FeedKind(str, Enum):
    UPSERT = "upsert"  # the job is (still) visible to the technician and changed
    REMOVE = "remove"  # the job left the technician (unassigned, reassigned, cancelled)
    ACTION_RESULT = "action_result"  # an inbox message of theirs changed state


class FeedEntry(db.Model):
    __tablename__ = "sync_feed"
    __table_args__ = (Index("ix_sync_feed_technician_id_id", "technician_id", "id"),)

    # BigInteger on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    job_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
