"""A job's files: dispatchers attach documents; devices' photos are shown and downloaded."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from portal import downloads
from portal.dispatch import bp
from portal.dispatch.common import actor, flash_refusal, load_job
from portal.dispatch.forms import AttachmentForm
from portal.domain import files as file_ops
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import FileKind, JobFile


def max_bytes() -> int:
    """Return the attachment size limit (ATTACHMENT_MAX_MB, under the request limit)."""
    mb = current_app.config["ATTACHMENT_MAX_MB"]
    return min(mb * 1024 * 1024, current_app.config["MAX_CONTENT_LENGTH"])


@bp.route("/jobs/<int:job_id>/attachments", methods=["POST"])
def job_attach(job_id: int):
    job = load_job(job_id, for_update=True)
    form = AttachmentForm()
    back = redirect(url_for("dispatch.job_detail", job_id=job_id) + "#files")
    if not form.validate():
        flash("; ".join(form.file.errors) or "Choose a file to attach.", "error")
        return back
    upload = form.file.data
    try:
        record, _ = file_ops.add_file(
            job,
            upload.stream,
            upload.filename or "file",
            upload.mimetype or "application/octet-stream",
            FileKind.ATTACHMENT,
            actor(),
            max_size=max_bytes(),
        )
        db.session.commit()
    except DomainError as exc:
        flash_refusal(exc)
        return back
    flash(f"{record.name} attached to {job.reference}.", "success")
    return back


@bp.route("/jobs/<int:job_id>/files/<int:file_id>")
def job_file(job_id: int, file_id: int):
    record = db.session.get(JobFile, file_id)
    if record is None or record.job_id != job_id:
        abort(404, description="There is no such file on this job.")
    path = file_ops.path_of(record)
    if not path.exists():
        abort(404, description="The file's content is missing from storage.")
    if downloads.range_not_satisfiable(record.size):
        raise RequestedRangeNotSatisfiable(
            length=record.size,
            description=f"The file has {record.size} bytes; ask for a range inside it.",
        )
    return downloads.send_stored(
        path,
        record.content_type,
        record.name,
        record.sha256,
        inline=request.args.get("inline") == "1",
    )
