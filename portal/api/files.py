"""Photo upload (idempotent by client file id) and file download (Range, ETag)."""

from __future__ import annotations

import re

from flask import current_app, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal import downloads
from portal.api import bp
from portal.api.common import ApiError, body_limit, current_device, current_technician, text
from portal.domain import files as file_ops
from portal.domain.inbox.store import storable_text
from portal.domain.jobs import Actor
from portal.domain.sync.documents import visible_to
from portal.extensions import db
from portal.models import FileKind, Job, JobFile, Right

PHOTO_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "image/gif"}
)
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
JOB_ID = re.compile(r"^[0-9]{1,10}$")
FILE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def _photo_limit() -> int:
    return min(current_app.config["PHOTO_MAX_BYTES"], current_app.config["MAX_CONTENT_LENGTH"])


def _upload_limit() -> int:
    # Room for the multipart envelope and the small fields around the photo.
    return _photo_limit() + 64 * 1024


def _own_job(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not visible_to(job, current_technician().id):
        raise ApiError(404, "not_found", "No such job among yours.", "job_id")
    return job


@bp.post("/files")
@body_limit(_upload_limit)
def upload_file():
    """Store a photo of one of the technician's jobs; a retry with the same file id is a no-op."""
    form = request.form
    raw_job = form.get("job_id", "")
    if not JOB_ID.match(raw_job) or not 1 <= int(raw_job) <= 2**31 - 1:
        raise ApiError(422, "invalid", "'job_id' must be a job id.", "job_id")
    file_id = text(form, "file_id", 100)
    if not FILE_ID.match(file_id):
        raise ApiError(422, "invalid", "'file_id' is 1-100 letters, digits or . _ : -.", "file_id")
    sha = text(form, "sha256", 64)
    if not SHA256.match(sha):
        raise ApiError(422, "invalid", "'sha256' must be 64 hex digits.", "sha256")
    upload = request.files.get("file")
    if upload is None:
        raise ApiError(422, "missing", "Attach the photo as the 'file' part.", "file")
    technician, device = current_technician(), current_device()
    job = _own_job(int(raw_job))
    if not technician.has_right(Right.UPLOAD_PHOTOS):
        raise ApiError(403, "forbidden", "You may not upload photos.", "file")
    existing = db.session.scalar(
        select(JobFile).where(
            JobFile.uploaded_by_id == technician.id, JobFile.client_file_id == file_id
        )
    )
    if existing is None:
        content_type = (upload.mimetype or "").lower()
        if content_type not in PHOTO_TYPES:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"Photos must be one of: {', '.join(sorted(PHOTO_TYPES))}.",
                "file",
            )
        name = upload.filename or ""
        if not name or len(name) > 255 or not storable_text(name):
            name = f"{file_id}.jpg"  # a phone's odd file name is no reason to refuse a photo
        try:
            with db.session.begin_nested():
                record, created = file_ops.add_file(
                    job,
                    upload.stream,
                    name,
                    content_type,
                    FileKind.PHOTO,
                    Actor.on_device(technician, device),
                    client_file_id=file_id,
                    expected_sha256=sha,
                    max_size=_photo_limit(),
                )
        except IntegrityError:  # the same upload, retried while the first was in flight
            existing = db.session.scalar(
                select(JobFile).where(
                    JobFile.uploaded_by_id == technician.id, JobFile.client_file_id == file_id
                )
            )
            if existing is None:
                raise
    if existing is not None:
        if existing.job_id != job.id or existing.sha256 != sha.lower():
            raise ApiError(
                409, "conflict", "This file id was already used for another file.", "file_id"
            )
        record, created = existing, False
    db.session.commit()
    body = dict(record.to_meta(), job_id=record.job_id, file_id=file_id, created=created)
    return jsonify(body), 201 if created else 200


@bp.get("/files/<int:file_id>")
def download_file(file_id: int):
    """Send an attachment or photo of a job the technician can see (Range, ETag)."""
    record = db.session.get(JobFile, file_id) if file_id <= 2**31 - 1 else None
    job = db.session.get(Job, record.job_id) if record is not None else None
    if record is None or not visible_to(job, current_technician().id):
        raise ApiError(404, "not_found", "No such file among your jobs.")
    path = file_ops.path_of(record)
    if not path.is_file():
        current_app.logger.error("file %s has no body at %s", record.id, path)
        raise ApiError(404, "not_found", "The file's content is missing on the server.")
    if downloads.range_not_satisfiable(record.size):
        # Refuse before opening the file: werkzeug would leave it open on this path.
        raise ApiError(
            416,
            "range_not_satisfiable",
            f"The file has {record.size} bytes; ask for a range inside it.",
            headers={"Content-Range": f"bytes */{record.size}"},
        )
    mimetype, name, etag = record.content_type, record.name, record.sha256
    db.session.rollback()  # end the read transaction before streaming
    # Photos show inline in the app; anything else (HTML, SVG, PDF...) is a download.
    return downloads.send_stored(path, mimetype, name, etag, inline=True)
