"""Files of a job: attachments from the dispatcher, photos from the device."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Model, UTCDateTime, utcnow


class FileKind(str, Enum):
    ATTACHMENT = "attachment"
    PHOTO = "photo"


class JobFile(Model):
    __tablename__ = "job_files"
    __table_args__ = (
        # A device retrying an upload sends the same client file id: store it once.
        UniqueConstraint("uploaded_by_id", "client_file_id", name="uq_job_files_client_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(120))
    # Path relative to FILES_DIR; bodies live on disk, addressed by content hash.
    storage_key: Mapped[str] = mapped_column(String(200))
    client_file_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def to_meta(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
        }


class PendingPhoto(Model):
    """A photo the phone said it took whose file has not arrived yet (it is on its way).

    Text actions never wait for it; the file attaches when its upload arrives, and the row
    goes. One that never arrives stays visible until an admin gives up on it.
    """

    __tablename__ = "pending_photos"
    __table_args__ = (
        UniqueConstraint("technician_id", "client_file_id", name="uq_pending_photos_client_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    device_id: Mapped[int | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL"), nullable=True
    )
    client_file_id: Mapped[str] = mapped_column(String(100))
    # The photo_added inbox message that announced it (kept after the message is cleaned).
    message_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
