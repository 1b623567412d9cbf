"""What assigning, unassigning and cancelling mean for a technician's phone, in words."""

from __future__ import annotations

from portal.domain import devices
from portal.models import Status, User

# A job in one of these is being worked on: taking it away needs a "yes, I mean it".
UNDER_WAY = (Status.EN_ROUTE.value, Status.STARTED.value, Status.PAUSED.value)


def has_phone(user: User | None) -> bool:
    return user is not None and user.id in devices.with_phone([user.id])


def no_phone_warning(tech: User | None) -> str | None:
    """Return the warning for assigning a job to a technician no phone will show it to."""
    if tech is None or has_phone(tech):
        return None
    return (
        f"{tech.display_name} has not signed in on a phone yet: the job reaches them once they do."
    )


def left_phone(reference: str | None, previous: User | None, done: str) -> str:
    """Say that a job was cancelled or unassigned; name the phone only where there was one."""
    if previous is not None and has_phone(previous):
        return f"{reference} is {done}; it has left {previous.display_name}'s phone."
    return f"{reference} is {done}."


def unassign_question(reference: str | None, status: str, tech: User | None) -> str:
    """Return the question asked before taking a job under way from its technician."""
    label = Status(status).label.lower()
    who = tech.display_name if tech else "the technician"
    return f"{reference} is {label}: unassign it from {who} while the work is under way?"
