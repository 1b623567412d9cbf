"""Uploaded device actions: check their shape and store them in the inbox, idempotently.

What is stored: every well-formed action on a job that is or was the technician's. One on a
job that left them while the phone was offline (reassigned, cancelled) carries real work, so
it is stored and the inbox processor shows it failed as ``authorization``, holding back only
that device's later actions on that job. What is refused at once, and never stored: an
action on a job that was never the technician's (``unknown_job``: it names nobody and holds
nothing back), a malformed one, a reused action id with other content, and a ``seq`` the
device already used on that job with another action. An action whose line the inbox cleaner
already deleted up to its ``seq`` (for that device and job) was applied long ago: it is
answered ``duplicate``, so a phone that lost an answer never gets an action applied twice.
The caller commits once, and the answer describes that commit.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from portal.domain import assignments
from portal.domain.inbox import processor
from portal.extensions import db
from portal.models import (
    ActionType,
    Device,
    InboxLineMark,
    InboxMessage,
    MessageState,
    User,
    utcnow,
)

MAX_BATCH = 200
MAX_INT = 2**31 - 1  # the database's INTEGER range
TYPES = frozenset(t.value for t in ActionType)


class Malformed(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class Action:
    id: str
    job_id: int
    seq: int
    type: str
    payload: dict
    created_at: datetime | None

    @property
    def payload_hash(self) -> str:
        return payload_hash(self.job_id, self.seq, self.type, self.payload)


def payload_hash(job_id: int, seq: int, type_: str, payload: dict) -> str:
    """Return the sha256 of the action's canonical JSON (what makes a duplicate)."""
    canonical = json.dumps(
        {"job_id": job_id, "seq": seq, "type": type_, "payload": payload},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _int(raw: Any, name: str, minimum: int) -> int:
    if not isinstance(raw, int) or isinstance(raw, bool) or not minimum <= raw <= MAX_INT:
        raise Malformed(f"'{name}' must be a whole number from {minimum} to {MAX_INT}.", name)
    return raw


def storable_text(value: str) -> bool:
    """Tell whether a string can be stored: no NUL, no lone surrogate (valid UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(value: Any, depth: int = 0) -> bool:
    """Tell whether a JSON value can be stored as is (the databases refuse NUL, NaN)."""
    if depth > 32:
        return False
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(storable_text(k) and storable(v, depth + 1) for k, v in value.items())
    if isinstance(value, list):
        return all(storable(v, depth + 1) for v in value)
    return True


def parse(raw: Any) -> Action:
    """Check one uploaded action's shape; raise Malformed naming the first bad field."""
    if not isinstance(raw, dict):
        raise Malformed("An action must be a JSON object.", "action")
    try:
        action_id = str(uuid.UUID(raw.get("id"))) if isinstance(raw.get("id"), str) else None
    except ValueError:
        action_id = None
    if action_id is None:
        raise Malformed("'id' must be a UUID.", "id")
    job_id = _int(raw.get("job_id"), "job_id", 1)
    seq = _int(raw.get("seq"), "seq", 1)
    type_ = raw.get("type")
    if not isinstance(type_, str) or type_ not in TYPES:
        raise Malformed(f"'type' must be one of: {', '.join(sorted(TYPES))}.", "type")
    payload = raw.get("payload")
    if not isinstance(payload, dict):
        raise Malformed("'payload' must be a JSON object.", "payload")
    if not storable(payload):
        raise Malformed(
            "'payload' holds text with NUL or invalid characters, or a non-finite number.",
            "payload",
        )
    created = raw.get("created_at")
    created_at = None
    if created is not None:
        if not isinstance(created, str) or len(created) > 40:
            raise Malformed("'created_at' must be an ISO 8601 date and time.", "created_at")
        try:
            created_at = datetime.fromisoformat(created)
        except ValueError:
            raise Malformed(
                "'created_at' must be an ISO 8601 date and time.", "created_at"
            ) from None
        if created_at.tzinfo is None:  # a device clock without zone is taken as UTC
            created_at = created_at.replace(tzinfo=UTC)
        try:
            created_at = created_at.astimezone(UTC)
        except OverflowError:
            raise Malformed("'created_at' is out of range.", "created_at") from None
    return Action(action_id, job_id, seq, type_, payload, created_at)


def _raw_id(raw: Any) -> str | None:
    value = raw.get("id") if isinstance(raw, dict) else None
    return value[:100] if isinstance(value, str) and storable_text(value[:100]) else None


def _answer(existing: InboxMessage | tuple, action: Action, technician: User) -> dict:
    tech_id, digest = existing[0], existing[1]
    if tech_id == technician.id and digest == action.payload_hash:
        return {"id": action.id, "state": "duplicate"}
    return {
        "id": action.id,
        "state": "rejected",
        "error": "id_reused",
        "message": "This action id was already uploaded with different content.",
    }


def _used_seqs(device: Device, actions: list[Action]) -> dict[tuple[int, int], str | None]:
    """Return {(job, seq): action id} of the device's actions among ``actions`` seen before.

    The id is None where the inbox cleaner already deleted the device's line up to that seq
    on the job: such an action was applied and cleaned away, so it is a duplicate.
    """
    keys = {(a.job_id, a.seq) for a in actions}
    if not keys:
        return {}
    rows = db.session.execute(
        select(InboxMessage.job_id, InboxMessage.seq, InboxMessage.action_id).where(
            InboxMessage.device_id == device.id,
            tuple_(InboxMessage.job_id, InboxMessage.seq).in_(sorted(keys)),
        )
    )
    used: dict[tuple[int, int], str | None] = {(r.job_id, r.seq): r.action_id for r in rows}
    marks = dict(
        db.session.execute(
            select(InboxLineMark.job_id, InboxLineMark.cleaned_through).where(
                InboxLineMark.device_key == device.id,
                InboxLineMark.job_id.in_({job for job, _ in keys}),
            )
        ).all()
    )
    for job_id, seq in keys:
        if (job_id, seq) not in used and seq <= marks.get(job_id, 0):
            used[(job_id, seq)] = None
    return used


UNKNOWN_JOB = {
    "state": "rejected",
    "error": "unknown_job",
    "message": "This job is not one of yours: the action was not stored.",
    "field": "job_id",
}


def store(technician: User, device: Device, raw_actions: list[Any]) -> list[dict]:
    """Store a batch of uploaded actions; return one result per action, in order."""
    parsed: list[Action | Malformed] = []
    for raw in raw_actions:
        try:
            parsed.append(parse(raw))
        except Malformed as exc:
            parsed.append(exc)
    good = [a for a in parsed if isinstance(a, Action)]
    known: dict[str, tuple[int, str]] = {}
    if good:
        for row in db.session.execute(
            select(
                InboxMessage.action_id, InboxMessage.technician_id, InboxMessage.payload_hash
            ).where(InboxMessage.action_id.in_({a.id for a in good}))
        ):
            known[row.action_id] = (row.technician_id, row.payload_hash)
    theirs = assignments.ever_assigned({a.job_id for a in good}, technician.id)
    seqs = _used_seqs(device, good)
    results: list[dict] = []
    lines: set[int] = set()
    now = utcnow()
    for raw, action in zip(raw_actions, parsed, strict=True):
        if isinstance(action, Malformed):
            result = {"id": _raw_id(raw), "state": "rejected", "error": "malformed"}
            result.update(message=action.message, field=action.field)
        elif action.id in known:
            result = _answer(known[action.id], action, technician)
        elif action.job_id not in theirs:
            result = dict(UNKNOWN_JOB, id=action.id)
        elif (action.job_id, action.seq) in seqs and seqs[(action.job_id, action.seq)] is None:
            result = {"id": action.id, "state": "duplicate"}  # applied, then cleaned away
        elif seqs.get((action.job_id, action.seq), action.id) != action.id:
            result = {
                "id": action.id,
                "state": "rejected",
                "error": "seq_reused",
                "message": f"Action #{action.seq} of this job was already sent with another id.",
                "field": "seq",
            }
        else:
            result = _insert(action, technician, device, now, known)
            if result["state"] == "accepted":
                seqs[(action.job_id, action.seq)] = action.id
        if result["state"] in ("accepted", "duplicate"):
            lines.add(action.job_id)
        results.append(result)
    # A duplicate re-announces its line too: the first upload's enqueue may have been lost.
    for job_id in sorted(lines):
        processor.enqueue_line(job_id)
    return results


def _insert(action: Action, technician: User, device: Device, now: datetime, known: dict) -> dict:
    message = InboxMessage(
        action_id=action.id,
        device_id=device.id,
        technician_id=technician.id,
        job_id=action.job_id,
        seq=action.seq,
        type=action.type,
        payload=action.payload,
        payload_hash=action.payload_hash,
        client_created_at=action.created_at,
        received_at=now,
        updated_at=now,
        state=MessageState.QUEUED.value,
    )
    try:
        # A savepoint per action: a concurrent upload of the same id (a retry racing the
        # first attempt) loses on the unique index without undoing the rest of the batch.
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        row = db.session.execute(
            select(InboxMessage.technician_id, InboxMessage.payload_hash).where(
                InboxMessage.action_id == action.id
            )
        ).first()
        if row is None:
            raise
        known[action.id] = (row[0], row[1])
        return _answer(known[action.id], action, technician)
    known[action.id] = (technician.id, action.payload_hash)
    return {"id": action.id, "state": "accepted"}
