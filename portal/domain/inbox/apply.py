"""Apply one device action through the job services, as the technician on their device.

Checks, in order: the job is still the technician's (not reassigned away, not cancelled),
the technician has the right for the action type, the payload fits the type; then the job
services check the configured transitions and required report fields. Every refusal is a
``DomainError`` whose category becomes the message's error category.

One rule for a job that left the technician while the phone was offline: none of their
later actions on it is applied, whatever its type; each stays in the inbox, failed as
``authorization`` with the reason, so the office sees the work and decides (discard it, or
give the job back and retry). Only that device's later actions on that job wait behind it.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from portal.domain import jobs as job_ops
from portal.domain.errors import AuthorizationError, ValidationError
from portal.extensions import db
from portal.models import (
    ActionType,
    Device,
    InboxMessage,
    Job,
    JobFile,
    PendingPhoto,
    Right,
    Status,
    User,
)

RIGHT_FOR = {
    ActionType.STATUS_CHANGE.value: Right.CHANGE_STATUS,
    ActionType.REPORT_UPDATE.value: Right.EDIT_REPORT,
    ActionType.PHOTO_ADDED.value: Right.UPLOAD_PHOTOS,
    ActionType.NOTE.value: Right.ADD_NOTES,
}


# Technician and device of a line's actions, loaded once for a run of them.
People = dict[tuple[int, int | None], tuple[User | None, Device | None]]


def apply(message: InboxMessage, people: People | None = None) -> None:
    """Apply the action through the job services, as the technician on their device.

    ``people`` keeps the technician and device read for earlier actions of the same run.
    """
    key = (message.technician_id, message.device_id)
    if people is not None and key in people:
        technician, device = people[key]
    else:
        technician, device = _who(message)
        if people is not None:
            people[key] = (technician, device)
    job = job_ops.get_for_update(message.job_id)
    name = job.reference if job is not None else f"Job {message.job_id}"
    if technician is None or job is None:
        raise AuthorizationError(f"{name} no longer exists.", "job_id")
    if job.assignee_id != technician.id:
        raise AuthorizationError(
            f"{name} was given to someone else while this phone was offline; "
            "the office has this action and will decide what to do with it.",
            "job_id",
        )
    if job.status == Status.CANCELLED.value:
        raise AuthorizationError(
            f"{name} was cancelled while this phone was offline; "
            "the office has this action and will decide what to do with it.",
            "job_id",
        )
    right = RIGHT_FOR.get(message.type)
    if right is None:
        raise ValidationError(f"'{message.type}' is not an action type.", "type")
    if not technician.has_right(right):
        raise AuthorizationError(
            f"{technician.display_name} lacks the right '{right.value}'.", right.value
        )
    actor = job_ops.Actor.on_device(technician, device, message.id)
    payload = message.payload if isinstance(message.payload, dict) else {}
    problem = payload_problem(message.type, payload)
    if problem:
        raise ValidationError(problem[1], problem[0])
    if message.type == ActionType.STATUS_CHANGE.value:
        job_ops.change_status(job, payload["to"], actor)
    elif message.type == ActionType.REPORT_UPDATE.value:
        job_ops.update_report(job, payload["fields"], actor)
    elif message.type == ActionType.NOTE.value:
        job_ops.add_note(job, payload["text"], actor)
    else:
        _photo(job, str(payload["file_id"]), technician, device, message, actor)


def _who(message: InboxMessage) -> tuple[User | None, Device | None]:
    """Load the technician, their rights and the device in one read."""
    row = (
        db.session.execute(
            select(User, Device)
            .outerjoin(Device, Device.id == message.device_id)
            .where(User.id == message.technician_id)
            .options(joinedload(User.rights))
        )
        .unique()
        .first()
    )
    if row is None:
        return None, None
    return row[0], row[1]


def _photo(
    job: Job,
    file_id: str,
    technician: User,
    device: Device | None,
    message: InboxMessage,
    actor: job_ops.Actor,
) -> None:
    """Note the photo; one whose file is still on the phone becomes a pending photo.

    The upload itself records an arrived photo in the job's history (files.add_file), so
    nothing is held back: text actions after this one go on at once.
    """
    arrived = db.session.scalar(
        select(
            exists().where(
                JobFile.uploaded_by_id == technician.id, JobFile.client_file_id == file_id
            )
        )
    )
    known = db.session.scalar(
        select(
            exists().where(
                PendingPhoto.technician_id == technician.id,
                PendingPhoto.client_file_id == file_id,
            )
        )
    )
    if arrived or known:
        return
    db.session.add(
        PendingPhoto(
            job_id=job.id,
            technician_id=technician.id,
            device_id=device.id if device else None,
            client_file_id=file_id,
            message_id=message.id,
        )
    )
    job_ops.photo_pending(job, file_id, actor)


def payload_problem(kind: str, payload: object) -> tuple[str, str] | None:
    """Return (field, message) when ``payload`` does not fit the action type, else None."""
    if not isinstance(payload, dict):
        return "payload", "The payload must be a JSON object."
    needs = {
        ActionType.STATUS_CHANGE.value: ("to", str, "a status name"),
        ActionType.REPORT_UPDATE.value: ("fields", dict, "an object of report fields"),
        ActionType.PHOTO_ADDED.value: ("file_id", str, "the photo's file id"),
        ActionType.NOTE.value: ("text", str, "the note's text"),
    }.get(kind)
    if needs is None:
        return "type", f"'{kind}' is not an action type."
    key, typ, what = needs
    if not isinstance(payload.get(key), typ) or (typ is str and not payload[key].strip()):
        return key, f"The payload needs '{key}': {what}."
    return None
