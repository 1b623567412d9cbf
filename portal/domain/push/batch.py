"""One push per technician for a whole batch of job changes (a CSV import), not one per job.

Inside :func:`coalesced`, the domain's push requests are collected instead of written; when
the block ends without an error, each technician's changes become one push per device (or
join the push still waiting for that device), naming every job in the push log. A caller
that rolls back part of the batch (a savepoint for a bad row) forgets that part's requests
with :func:`mark` and :func:`forget_since`.
"""

from __future__ import annotations

from array import array
from bisect import insort
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from portal.domain.push import triggers as push
from portal.extensions import db
from portal.models import Job, Push, PushJob

_KEY = "fieldsync_push_batch"
# A data message carries at most this many job ids (FCM caps data at 4 KB); the push log's
# push_jobs rows name them all, and the phone syncs everything anyway.
DATA_JOB_IDS = 100
SHOWN_REFERENCES = 60  # the body shows at most 400 characters of references


class _Change(NamedTuple):
    technician_id: int
    job_id: int
    reference: str
    reason: str


@dataclass
class _Technician:
    """What one technician's push will say: kept small, whatever the batch's size."""

    ids: array[int] = field(default_factory=lambda: array("q"))  # every job, in order of change
    references: list[str] = field(default_factory=list)  # the first ones in sort order
    reason: str = push.PushReason.CHANGED.value

    def add(self, change: _Change) -> None:
        self.ids.append(change.job_id)
        if change.reference not in self.references:
            insort(self.references, change.reference)
            del self.references[SHOWN_REFERENCES:]
        if push._RANK.get(change.reason, 0) >= push._RANK.get(self.reason, 0):
            self.reason = change.reason


@dataclass
class _Batch:
    pending: list[_Change] = field(default_factory=list)  # since the last settle()
    technicians: dict[int, _Technician] = field(default_factory=dict)

    def settle(self) -> None:
        for change in self.pending:
            self.technicians.setdefault(change.technician_id, _Technician()).add(change)
        self.pending.clear()


def _batch() -> _Batch | None:
    return db.session.info.get(_KEY)


@contextmanager
def coalesced() -> Iterator[None]:
    """Collect push requests during the block; write one push per technician's device at its end.

    Nested blocks join the outermost one.
    """
    session = db.session()
    if _KEY in session.info:
        yield
        return
    batch = _Batch()
    session.info[_KEY] = batch
    try:
        yield
    finally:
        session.info.pop(_KEY, None)
    batch.settle()
    for technician_id in sorted(batch.technicians):
        _deliver(technician_id, batch.technicians[technician_id])


def collect(technician_id: int, job_id: int, reference: str, reason: push.PushReason) -> bool:
    """Hold a push request for the batch under way; False when there is none."""
    batch = _batch()
    if batch is None:
        return False
    batch.pending.append(_Change(technician_id, job_id, reference or f"#{job_id}", reason.value))
    return True


def job_changed(technician_id: int, job_id: int, reference: str, reason: push.PushReason) -> None:
    """Ask for a push about a job that is not loaded as an object (bulk writes)."""
    if not collect(technician_id, job_id, reference, reason):
        with coalesced():
            collect(technician_id, job_id, reference, reason)


def mark() -> int:
    """Return where the batch stands, for :func:`forget_since`."""
    batch = _batch()
    return len(batch.pending) if batch else 0


def forget_since(position: int) -> None:
    """Drop the requests collected after ``mark()`` returned ``position`` (rolled back)."""
    batch = _batch()
    if batch is not None:
        del batch.pending[position:]


def settle() -> None:
    """Keep what was collected so far for good (its writes are past any rollback)."""
    batch = _batch()
    if batch is not None:
        batch.settle()


def _deliver(technician_id: int, tech: _Technician) -> None:
    ids = list(dict.fromkeys(reversed(tech.ids)))[::-1]  # each job once, latest change last
    if len(ids) == 1:
        job = db.session.get(Job, ids[0])
        if job is not None:
            push._deliver(job, technician_id, push.PushReason(tech.reason))
        return
    devices = push.pushable_devices(technician_id)
    if not devices:
        return
    window = current_app.config["PUSH_COALESCE_SECONDS"]
    dialect = db.session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for device in devices:
        target = push._pending(device.id, window)
        if target is None:
            target = push.new_push(device, window, coalesced=0)
            _describe(target, ids, tech)
            db.session.flush()
        else:
            _describe(target, ids, tech)
        for first in range(0, len(ids), 1000):
            db.session.execute(
                make(PushJob).on_conflict_do_nothing(),
                [{"push_id": target.id, "job_id": j} for j in ids[first : first + 1000]],
            )


def _describe(target: Push, ids: list[int], tech: _Technician) -> None:
    """Make the push speak for ``ids`` too: the multi-job title, the references, the ids."""
    data = dict(target.data or {})
    before = [int(x) for x in str(data.get("job_ids") or data.get("job_id") or "").split(",") if x]
    new = set(ids)
    ids = [i for i in before if i not in new] + ids
    target.job_id = ids[-1]
    keep = target.reason and push._RANK.get(target.reason, 0) > push._RANK.get(tech.reason, 0)
    target.reason = target.reason if keep else tech.reason
    target.data = {"type": "sync", "job_id": str(ids[-1]), "reason": target.reason,
                   "job_ids": ",".join(str(i) for i in ids[-DATA_JOB_IDS:])}  # fmt: skip
    target.title = f"{len(ids)} jobs changed"
    target.body = push._clip(", ".join(tech.references), 400)
    target.collapse_key = "fieldsync-jobs"
    target.coalesced = (target.coalesced or 0) + len(tech.ids)


push.batch_collector = collect
