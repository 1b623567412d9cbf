"""File bodies on disk, addressed by content hash; metadata in ``job_files``."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import delete, select

from portal.domain import jobs as job_ops
from portal.domain.errors import ValidationError
from portal.extensions import db
from portal.models import FileKind, Job, JobFile, PendingPhoto

CHUNK = 1024 * 1024


def files_dir() -> Path:
    path = Path(current_app.config["FILES_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(f: JobFile) -> Path:
    return files_dir() / f.storage_key


def _store_body(stream: BinaryIO, max_size: int) -> tuple[str, int, str]:
    """Copy the stream to disk while hashing it; return (storage key, size, sha256)."""
    root = files_dir()
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_size:
                    raise ValidationError(
                        f"The file is larger than {max_size // (1024 * 1024)} MB.", "file"
                    )
                digest.update(chunk)
                out.write(chunk)
        sha = digest.hexdigest()
        key = f"{sha[:2]}/{sha}"
        final = root / key
        final.parent.mkdir(parents=True, exist_ok=True)
        # Same content, same key: a second upload of identical bytes reuses the body.
        os.replace(tmp, final)
        return key, size, sha
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def add_file(
    job: Job,
    stream: BinaryIO,
    name: str,
    content_type: str,
    kind: FileKind,
    actor: job_ops.Actor,
    client_file_id: str | None = None,
    expected_sha256: str | None = None,
    max_size: int | None = None,
) -> tuple[JobFile, bool]:
    """Store a file for a job; return (file, created). Idempotent by uploader + client id."""
    uploader_id = actor.user.id if actor.user else None
    if client_file_id:
        existing = db.session.scalar(
            select(JobFile).where(
                JobFile.uploaded_by_id == uploader_id, JobFile.client_file_id == client_file_id
            )
        )
        if existing is not None:
            return existing, False
    name = os.path.basename((name or "").replace("\\", "/")).strip() or "file"
    if len(name) > 255:
        raise ValidationError("The file name is longer than 255 characters.", "file")
    key, size, sha = _store_body(stream, max_size or current_app.config["MAX_CONTENT_LENGTH"])
    if size == 0:
        raise ValidationError("The file is empty.", "file")
    if expected_sha256 and expected_sha256.lower() != sha:
        raise ValidationError("The file arrived damaged: its sha256 does not match.", "sha256")
    record = JobFile(
        job_id=job.id,
        kind=kind.value,
        name=name,
        size=size,
        sha256=sha,
        content_type=(content_type or "application/octet-stream")[:120],
        storage_key=key,
        client_file_id=client_file_id,
        uploaded_by_id=uploader_id,
    )
    db.session.add(record)
    db.session.flush()
    if client_file_id and uploader_id is not None:
        # The photo a device action announced has arrived: it is no longer on its way.
        db.session.execute(
            delete(PendingPhoto).where(
                PendingPhoto.technician_id == uploader_id,
                PendingPhoto.client_file_id == client_file_id,
            )
        )
    job_ops.file_added(job, name, kind.value, actor)
    return record, True


def pending_photos(job_id: int) -> list[PendingPhoto]:
    """Return the photos phones announced for the job whose files have not arrived."""
    return list(
        db.session.scalars(
            select(PendingPhoto)
            .where(PendingPhoto.job_id == job_id)
            .order_by(PendingPhoto.created_at, PendingPhoto.id)
        )
    )


def give_up_photo(job: Job, pending_id: int, actor: job_ops.Actor) -> None:
    """Stop waiting for a photo that will not arrive (the phone is lost); recorded in history."""
    pending = db.session.get(PendingPhoto, pending_id)
    if pending is None or pending.job_id != job.id:
        raise ValidationError("That photo is no longer awaited.", "photo")
    db.session.delete(pending)
    job_ops.photo_given_up(job, pending.client_file_id, actor)


def files_of(job_id: int, kind: FileKind | None = None) -> list[JobFile]:
    query = select(JobFile).where(JobFile.job_id == job_id).order_by(JobFile.id)
    if kind is not None:
        query = query.where(JobFile.kind == kind.value)
    return list(db.session.scalars(query))
