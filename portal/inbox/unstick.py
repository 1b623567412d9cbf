"""The inbox actions that let no item stay stuck: skip, process now, put back, stop waiting."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user

from portal.domain.errors import ValidationError
from portal.domain.inbox import unstick as inbox_unstick
from portal.extensions import db
from portal.inbox import bp
from portal.inbox.views import _back, _message


def _done(message_id: int, change, text: str):
    """Run an audited change on a message and say how it went; back to where the admin was."""
    m = _message(message_id, lock=True)
    try:
        change(m)
    except ValidationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(text, "success")
    return _back(url_for("inbox.message", message_id=message_id))


@bp.post("/messages/<int:message_id>/skip")
def skip(message_id: int):
    note = request.form.get("note", "")
    return _done(
        message_id,
        lambda m: inbox_unstick.skip(m, current_user, note),
        "Skipped: it will never be applied; the rest of the job's line goes on.",
    )


@bp.post("/messages/<int:message_id>/process-now")
def process_now(message_id: int):
    return _done(
        message_id,
        lambda m: inbox_unstick.process_now(m, current_user),
        "Handed to a worker again.",
    )


@bp.post("/messages/<int:message_id>/put-back")
def put_back(message_id: int):
    return _done(
        message_id,
        lambda m: inbox_unstick.put_back(m, current_user),
        "Put back in the queue; a worker takes it again.",
    )


@bp.post("/messages/<int:message_id>/stop-waiting")
def stop_waiting(message_id: int):
    return _done(
        message_id,
        lambda m: inbox_unstick.stop_waiting_for_photo(m, current_user),
        "No longer waiting for that photo; it is noted in the job's history.",
    )
