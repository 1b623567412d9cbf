"""The admin's writes to the configuration: status transitions, report fields, rights.

Each write checks its input first and returns the problems by form field (nothing is
written when there is one); the caller commits. These are where an admin repairs the cause
of a failed inbox action in place before retrying it.
"""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select

from portal.extensions import db
from portal.models import (
    FieldType,
    ReportField,
    Right,
    Status,
    StatusTransition,
    TechnicianRight,
    User,
)

STATUSES = [s.value for s in Status]
FIELD_TYPES = [t.value for t in FieldType]
_KEY = re.compile(r"[a-z][a-z0-9_]{0,59}")


def add_transition(from_status: str, to_status: str, portal_only: bool) -> dict[str, str]:
    """Allow ``from_status`` → ``to_status``; return the problems by field (none: added)."""
    errors: dict[str, str] = {}
    if from_status not in STATUSES:
        errors["from_status"] = "Choose a status."
    if to_status not in STATUSES:
        errors["to_status"] = "Choose a status."
    elif from_status == to_status:
        errors["to_status"] = "A transition goes to another status."
    elif db.session.scalar(
        select(StatusTransition).where(
            StatusTransition.from_status == from_status, StatusTransition.to_status == to_status
        )
    ):
        errors["to_status"] = f"{from_status} → {to_status} is already configured."
    if not errors:
        db.session.add(
            StatusTransition(from_status=from_status, to_status=to_status, portal_only=portal_only)
        )
    return errors


def remove_transition(row: StatusTransition) -> None:
    """Forbid a transition again."""
    db.session.delete(row)


def toggle_portal_only(row: StatusTransition) -> None:
    """Switch a transition between the portal only and the portal and devices."""
    row.portal_only = not row.portal_only


def save_report_field(
    row: ReportField | None, key: str, label: str, kind: str, required_for: str | None
) -> dict[str, str]:
    """Add a report field (``row`` None) or change one; return the problems by field."""
    errors: dict[str, str] = {}
    if row is None and not _KEY.fullmatch(key):
        errors["key"] = "Use lowercase letters, digits and _ (starting with a letter)."
    elif row is None and db.session.scalar(select(ReportField).where(ReportField.key == key)):
        errors["key"] = f"A field '{key}' already exists."
    if not label or len(label) > 120:
        errors["label"] = "Give a label of at most 120 characters."
    if kind not in FIELD_TYPES:
        errors["type"] = "Choose a type."
    if required_for is not None and required_for not in STATUSES:
        errors["required_for"] = "Choose a status or none."
    if errors:
        return errors
    if row is None:
        position = (db.session.scalar(select(func.max(ReportField.position))) or 0) + 1
        row = ReportField(key=key, position=position)
        db.session.add(row)
    row.label, row.type, row.required_for = label, kind, required_for
    return errors


def remove_report_field(row: ReportField) -> None:
    """Remove a report field."""
    db.session.delete(row)


def set_rights(technician: User, wanted: set[Right]) -> None:
    """Give ``technician`` exactly the rights ``wanted`` on their device."""
    db.session.execute(delete(TechnicianRight).where(TechnicianRight.user_id == technician.id))
    for value in sorted(r.value for r in wanted):
        db.session.add(TechnicianRight(user_id=technician.id, right=value))
