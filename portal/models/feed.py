"""The per-technician sync feed: an append-only log a device pulls by position."""

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
    # Not a change: marks the position up to which the retention deleted entries, so a
    # cursor from before it is told to start over (see portal.domain.sync.feed).
    HORIZON = "horizon"


class FeedEntry(db.Model):
    __tablename__ = "sync_feed"
    __table_args__ = (
        # The pull reads a technician's entries by position range.
        Index("ix_sync_feed_technician_position", "technician_id", "position", unique=True),
    )

    # BigInteger on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # From the technician's own counter, taken as the writing transaction commits:
    # positions are in commit order, so a cursor never passes a change still to commit.
    position: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncPosition(db.Model):
    """A technician's feed counter: the last position given, bumped at each commit."""

    __tablename__ = "sync_positions"

    technician_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(BigInteger, default=0)
