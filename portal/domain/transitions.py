"""Configured status transitions and report-field requirements."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from portal.domain.errors import ConfigurationError, ValidationError
from portal.extensions import db
from portal.models import Job, ReportField, Status, StatusTransition

# DESIGN.md's seed; assignment (new -> assigned) happens through ``assign``, not a status edit.
DEFAULT_TRANSITIONS: list[tuple[str, str, bool]] = [
    ("new", "assigned", False),
    ("assigned", "en_route", False),
    ("assigned", "started", False),
    ("en_route", "started", False),
    ("started", "paused", False),
    ("paused", "started", False),
    ("started", "finished", False),
] + [(s.value, "cancelled", True) for s in Status if not s.final]

DEFAULT_REPORT_FIELDS: list[dict[str, Any]] = [
    {"key": "resolution", "label": "Resolution", "type": "text", "required_for": "finished"},
    {"key": "hours", "label": "Hours worked", "type": "number", "required_for": None},
    {
        "key": "customer_present",
        "label": "Customer present",
        "type": "boolean",
        "required_for": None,
    },
]


def configured() -> list[StatusTransition]:
    return list(db.session.scalars(select(StatusTransition)))


def allowed_targets(current: str, from_device: bool) -> list[str]:
    """Return the statuses a job in ``current`` may move to, in lifecycle order."""
    rows = db.session.scalars(
        select(StatusTransition).where(StatusTransition.from_status == current)
    )
    targets = {r.to_status for r in rows if not (from_device and r.portal_only)}
    return [s.value for s in Status if s.value in targets]


def check_transition(current: str, target: str, from_device: bool) -> None:
    """Raise ConfigurationError unless ``current -> target`` is configured for this origin."""
    try:
        Status(target)
    except ValueError:
        raise ValidationError(f"'{target}' is not a status.", "status") from None
    row = db.session.scalar(
        select(StatusTransition).where(
            StatusTransition.from_status == current, StatusTransition.to_status == target
        )
    )
    if row is None:
        raise ConfigurationError(
            f"The status transition {current} → {target} is not configured.", "status"
        )
    if from_device and row.portal_only:
        raise ConfigurationError(
            f"The status transition {current} → {target} can only be made in the portal.",
            "status",
        )


def report_fields() -> list[ReportField]:
    return list(db.session.scalars(select(ReportField).order_by(ReportField.position)))


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_required_fields(job: Job, target: str) -> None:
    """Raise ValidationError naming the report fields ``target`` needs that are empty."""
    missing = [
        f
        for f in report_fields()
        if f.required_for == target and _empty((job.report or {}).get(f.key))
    ]
    if missing:
        names = ", ".join(f"'{f.label}'" for f in missing)
        plural = "s" if len(missing) > 1 else ""
        raise ValidationError(
            f"{job.status} → {target} needs report field{plural} {names}.", missing[0].key
        )


def coerce_report_value(field: ReportField, value: Any) -> Any:
    """Return ``value`` converted to the field's type, or raise ValidationError."""
    if value is None:
        return None
    if field.type == "number":
        if isinstance(value, bool):
            raise ValidationError(f"'{field.label}' must be a number.", field.key)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValidationError(f"'{field.label}' must be a number.", field.key) from None
        return int(number) if number.is_integer() else number
    if field.type == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise ValidationError(f"'{field.label}' must be yes or no.", field.key)
    if not isinstance(value, str | int | float):
        raise ValidationError(f"'{field.label}' must be text.", field.key)
    return str(value)
