"""Apply one device action through the job services, as the technician on their device.

Checks, in order: the job exists and is assigned to the technician, the technician has the
right for the action type, the payload fits the type; then the job services check the
configured transitions and required report fields. Every refusal is a ``DomainError`` whose
category becomes the message's error category.
"""

from __future__ import annotations

from sqlalchemy import exists, select

from portal.domain import jobs as job_ops
from portal.domain.errors import AuthorizationError, ValidationError
from portal.extensions import db
from portal.models import ActionType, Device, InboxMessage, JobFile, Right, User

RIGHT_FOR = {
    ActionType.STATUS_CHANGE.value: Right.CHANGE_STATUS,
    ActionType.REPORT_UPDATE.value: Right.EDIT_REPORT,
    ActionType.PHOTO_ADDED.value: Right.UPLOAD_PHOTOS,
    ActionType.NOTE.value: Right.ADD_NOTES,
}


class PhotoNotArrived(Exception):
    """The photo an action names has not been uploaded yet: the action waits for it."""


def apply(message: InboxMessage) -> None:
    """Apply the action through the job services, as the technician on their device."""
    technician = db.session.get(User, message.technician_id)
    device = db.session.get(Device, message.device_id) if message.device_id else None
    job = job_ops.get_for_update(message.job_id)
    who = technician.display_name if technician else f"technician {message.technician_id}"
    if technician is None or job is None or job.assignee_id != technician.id:
        name = job.reference if job is not None else f"Job {message.job_id}"
        raise AuthorizationError(f"{name} is not assigned to {who}.", "job_id")
    right = RIGHT_FOR.get(message.type)
    if right is None:
        raise ValidationError(f"'{message.type}' is not an action type.", "type")
    if not technician.has_right(right):
        raise AuthorizationError(f"{who} lacks the right '{right.value}'.", right.value)
    actor = job_ops.Actor.on_device(technician, device)
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
        # The upload itself recorded the photo in the job's history (files.add_file).
        found = db.session.scalar(
            select(
                exists().where(
                    JobFile.job_id == job.id, JobFile.client_file_id == str(payload["file_id"])
                )
            )
        )
        if not found:
            raise PhotoNotArrived(f"Waiting for the photo {payload['file_id']} to be uploaded")


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
