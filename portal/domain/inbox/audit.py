"""The audit trail of what people did to inbox messages: who, when, before and after."""

from __future__ import annotations

from typing import Any

from portal.extensions import db
from portal.models import InboxAudit, InboxMessage, User


def snapshot(message: InboxMessage) -> dict[str, Any]:
    """Return what an audit entry keeps of a message: state, payload and error."""
    return {
        "state": message.state,
        "payload": message.payload,
        "error_category": message.error_category,
        "error_message": message.error_message,
    }


def record(
    message: InboxMessage, user: User | None, action: str, before: dict[str, Any], note: str = ""
) -> None:
    """Add an audit entry for ``action`` (``before`` from :func:`snapshot`; after is now)."""
    db.session.add(
        InboxAudit(
            message_id=message.id,
            user_id=user.id if user else None,
            action=action,
            before=before,
            after=snapshot(message),
            note=note,
        )
    )
