"""Random histories of a small field-service company, and the check that phones converge.

A history is a list of steps drawn from a seed: dispatchers create, edit, assign, reassign,
unassign, cancel and reschedule jobs (through the domain functions and through the CSV
import); phones act offline, go on- and offline, upload duplicate and reordered batches, die
between an upload and its answer, and pull with small page limits; inbox workers apply
lines or are killed holding one; the cleaner compacts and expires the sync feed and deletes
old inbox messages. On PostgreSQL, writers also keep their transaction open across other
steps (a thread with its own connection each).

After quiescence every phone's jobs must equal a fresh first sync of its technician, and
every action a phone uploaded must have been applied exactly once or be visible in the
inbox with a reason. A failing history is shrunk to a short list of steps that still fails.
"""

from __future__ import annotations

import csv
import io
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from portal.domain import import_file, imports, retention
from portal.domain import jobs as job_ops
from portal.domain.errors import DomainError
from portal.domain.inbox import maintenance, processor
from portal.extensions import db, get_redis, sqlite_writer
from portal.models import (
    Device,
    InboxLineMark,
    InboxMessage,
    Job,
    JobEvent,
    MessageState,
    Right,
    TechnicianRight,
    User,
    utcnow,
)
from portal.simulator.client import DeviceClient

PASSWORD = "password123"
# Test users sign in many times per history: a cheap hash keeps that fast (not a rule).
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
TECHNICIANS = 3
# Two phones for the first technician: one technician's devices must agree with each other.
DEVICE_OWNERS = (0, 0, 1, 2)
NETWORKS = ("wifi", "lte", "edge", "2g")
NEXT_STATUS = {
    "assigned": ["en_route", "started"],
    "en_route": ["started"],
    "started": ["paused", "finished"],
    "paused": ["started"],
}
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@dataclass(frozen=True)
class Step:
    """One thing that happens; indices are taken modulo what exists when it runs."""

    kind: str
    args: tuple = ()

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(map(repr, self.args))})"


def generate(seed: int, length: int, concurrent_writers: bool) -> list[Step]:
    """Return the steps of the history named by ``seed``."""
    rng = random.Random(seed)
    kinds = [
        ("create", 3),
        ("edit", 3),
        ("reschedule", 2),
        ("assign", 4),
        ("cancel", 1),
        ("portal_status", 1),
        ("import", 2),
        ("act", 10),
        ("sync", 8),
        ("pull_page", 3),
        ("offline", 2),
        ("online", 3),
        ("die_upload", 2),
        ("shuffle", 2),
        ("work", 6),
        ("kill_worker", 2),
        ("retry_failed", 1),
        ("compact", 1),
        ("expire", 1),
        ("clean_inbox", 1),
    ]
    if concurrent_writers:
        kinds += [("hold", 3), ("release", 3)]
    names = [k for k, _ in kinds]
    weights = [w for _, w in kinds]
    steps = []
    for _ in range(length):
        kind = rng.choices(names, weights)[0]
        args = tuple(rng.randrange(1000) for _ in range(3))
        steps.append(Step(kind, args))
    return steps


@dataclass
class Held:
    """A dispatcher's save whose transaction stays open (its own thread and connection)."""

    job_id: int
    go: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: BaseException | None = None


class Divergence(AssertionError):
    """The history did not converge: a phone missed a change, or an action was lost."""


class World:
    """The company, its phones and the steps that change them; ``check`` is the verdict."""

    def __init__(self, app, base_url: str, seed: int, backend: str):
        self.app, self.base_url, self.backend = app, base_url, backend
        self.rng = random.Random(seed ^ 0x5EED)
        self.held: list[Held] = []
        self.errors: list[str] = []
        # action id -> (the phone, the action as it sent it)
        self.uploaded: dict[str, tuple[DeviceClient, dict]] = {}
        self.answers: dict[str, str] = {}  # action id -> the last state the server answered
        ids = []
        for n in range(TECHNICIANS + 1):
            role = "dispatcher" if n == TECHNICIANS else "technician"
            user = User(email=f"{role}{n}@example.com", name=f"{role.title()} {n}", role=role)
            user.password_hash = _HASH
            if role == "technician":
                user.rights = [TechnicianRight(right=r.value) for r in Right]
            db.session.add(user)
            db.session.flush()
            ids.append(user.id)
        db.session.commit()
        self.technician_ids, self.dispatcher_id = ids[:TECHNICIANS], ids[TECHNICIANS]
        self.devices = [
            DeviceClient(
                base_url,
                f"technician{owner}@example.com",
                PASSWORD,
                device_id=f"phone-{i}-{uuid.uuid4().hex[:6]}",
                page_limit=self.rng.choice([1, 2, 3, 5]),
                timeout=30,
            )
            for i, owner in enumerate(DEVICE_OWNERS)
        ]
        for _ in range(5):
            self._create((self.rng.randrange(TECHNICIANS + 1),))

    # --- helpers -------------------------------------------------------------------------

    def _actor(self) -> job_ops.Actor:
        return job_ops.Actor.portal(db.session.get(User, self.dispatcher_id))

    def _held_jobs(self) -> set[int]:
        return {h.job_id for h in self.held}

    def _job(self, index: int, *, free: bool = True) -> Job | None:
        ids = list(db.session.scalars(select(Job.id).order_by(Job.id)))
        if free:
            ids = [i for i in ids if i not in self._held_jobs()]
        if not ids:
            return None
        return job_ops.get_for_update(ids[index % len(ids)])

    def _technician(self, index: int) -> User | None:
        """Return a technician, or None for index == TECHNICIANS (unassign)."""
        index %= TECHNICIANS + 1
        if index == TECHNICIANS:
            return None
        return db.session.get(User, self.technician_ids[index])

    def _write(self, fn, *args) -> None:
        """Run a dispatcher's change and commit it; a refusal by the rules is no failure."""
        token = sqlite_writer.set(True)
        try:
            fn(*args)
            db.session.commit()
        except DomainError:
            db.session.rollback()
        finally:
            sqlite_writer.reset(token)

    # --- dispatchers ---------------------------------------------------------------------

    def _create(self, args) -> None:
        def run():
            start = datetime(2026, 12, 1, 8, tzinfo=UTC) + timedelta(hours=args[0] % 50)
            job = job_ops.create(
                {"title": f"Visit {uuid.uuid4().hex[:6]}", "scheduled_start": start},
                self._actor(),
            )
            tech = self._technician(args[0])
            if tech is not None:
                job_ops.assign(job, tech, self._actor())

        self._write(run)

    def step_create(self, args) -> None:
        self._create(args)

    def step_edit(self, args) -> None:
        def run():
            job = self._job(args[0])
            if job is not None:
                job_ops.update(job, {"title": f"Edited {args[1]}"}, self._actor())

        self._write(run)

    def step_reschedule(self, args) -> None:
        def run():
            job = self._job(args[0])
            if job is not None:
                start = datetime(2026, 12, 2, 7, tzinfo=UTC) + timedelta(minutes=15 * args[1])
                job_ops.update(
                    job,
                    {"scheduled_start": start, "scheduled_end": start + timedelta(hours=1)},
                    self._actor(),
                )

        self._write(run)

    def step_assign(self, args) -> None:
        def run():
            job = self._job(args[0])
            if job is not None:
                job_ops.assign(job, self._technician(args[1]), self._actor())

        self._write(run)

    def step_cancel(self, args) -> None:
        def run():
            job = self._job(args[0])
            if job is not None:
                job_ops.cancel(job, self._actor())

        self._write(run)

    def step_portal_status(self, args) -> None:
        def run():
            job = self._job(args[0])
            if job is not None:
                targets = NEXT_STATUS.get(job.status, ["started"])
                job_ops.change_status(job, targets[args[1] % len(targets)], self._actor())

        self._write(run)

    def step_import(self, args) -> None:
        """Import a small CSV: updates of existing jobs (title, technician) and a new job."""
        held = self._held_jobs()
        rows = db.session.execute(select(Job.id, Job.reference).order_by(Job.id)).all()
        rows = [r for r in rows if r.id not in held]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(import_file.COLUMNS)
        picked = [rows[(args[0] + k * 7) % len(rows)] for k in range(min(2, len(rows)))]
        for k, row in enumerate(picked):
            tech = self._technician(args[1] + k)
            email = tech.email if tech is not None else ""
            writer.writerow([row.reference, f"Imported {args[2]}", "", "", "", "", "", email])
        tech = self._technician(args[2])
        new_ref = f"IMP-{uuid.uuid4().hex[:8]}"
        writer.writerow([new_ref, "Imported job", "", "", "", "", "", tech.email if tech else ""])
        db.session.rollback()

        def run():
            actor = job_ops.Actor(db.session.get(User, self.dispatcher_id), job_ops.Origin.IMPORT)
            imports.import_rows(import_file.read_csv(out.getvalue()), actor)

        self._write(run)

    # --- phones --------------------------------------------------------------------------

    def _device(self, index: int) -> DeviceClient:
        return self.devices[index % len(self.devices)]

    def step_act(self, args) -> None:
        device = self._device(args[0])
        if not device.jobs:
            return
        job_id = sorted(device.jobs)[args[1] % len(device.jobs)]
        roll = args[2] % 10
        if roll < 3:
            action = device.act(job_id, "note", {"text": f"Note {uuid.uuid4().hex[:8]}"})
        elif roll < 5:
            action = device.act(job_id, "report_update", {"fields": {"resolution": "Fixed"}})
        elif roll < 6:
            device.take_photo(job_id, JPEG + uuid.uuid4().bytes)
            action = device.outbox[-1]
        else:
            targets = NEXT_STATUS.get(device.jobs[job_id]["status"], ["started"])
            action = device.act(job_id, "status_change", {"to": targets[args[2] % len(targets)]})
        self.uploaded[action["id"]] = (device, action)

    def _may_sync(self, device: DeviceClient) -> bool:
        # A photo upload writes the job row: it would wait for a held writer of that job.
        held = self._held_jobs()
        return not any(f.job_id in held for f in device.files) or device.slow

    def _record(self, report) -> None:
        if report.error and not report.error.startswith("network"):
            self.errors.append(report.error)

    def step_sync(self, args) -> None:
        device = self._device(args[0])
        if device.online and self._may_sync(device):
            self._record(device.sync())
            self._note_answers(device)

    def _note_answers(self, device: DeviceClient) -> None:
        for result in device.rejected:
            if "file_id" not in result:
                self.answers[result["id"]] = "rejected"

    def step_pull_page(self, args) -> None:
        """Pull one page only, as a phone that loses its connection mid-sync."""
        device = self._device(args[0])
        if not device.online or device.token is None:
            return
        params = {"limit": device.page_limit or 1}
        if device.cursor:
            params["cursor"] = device.cursor
        resp = device._call("GET", "/sync/pull", params=params)
        if resp.status_code == 200:
            body = resp.json()
            if device.cursor is None:
                return  # a first sync is only ever applied whole (sync() does that)
            for doc in body["jobs"]:
                device.jobs[doc["id"]] = doc
            for job_id in body["removed"]:
                device.jobs.pop(job_id, None)
            device.cursor = body["cursor"]
        elif resp.status_code not in (400, 410):
            self.errors.append(f"pull answered {resp.status_code}: {resp.text[:200]}")

    def step_offline(self, args) -> None:
        self._device(args[0]).go_offline()

    def step_online(self, args) -> None:
        self._device(args[0]).go_online(NETWORKS[args[1] % len(NETWORKS)])

    def step_die_upload(self, args) -> None:
        """Upload part of the outbox and lose the answer: the phone will send it again."""
        device = self._device(args[0])
        if not device.online or device.token is None or not device.outbox:
            return
        batch = device.outbox[: 1 + args[1] % len(device.outbox)]
        device._call("POST", "/sync/push", json={"actions": batch, "unsent_count": 0})

    def step_shuffle(self, args) -> None:
        """Reorder the outbox: later actions reach the server before earlier ones."""
        device = self._device(args[0])
        random.Random(args[1]).shuffle(device.outbox)

    # --- inbox workers ---------------------------------------------------------------------

    def _lines(self) -> list[int]:
        open_states = (MessageState.QUEUED.value, MessageState.PROCESSING.value)
        ids = db.session.scalars(
            select(InboxMessage.job_id).where(InboxMessage.state.in_(open_states)).distinct()
        )
        held = self._held_jobs()
        lines = sorted(j for j in ids if j not in held)
        db.session.rollback()
        return lines

    def _process(self, job_id: int, retry: bool = False) -> None:
        token = sqlite_writer.set(True)
        try:
            processor.process_line(job_id, retry)
        finally:
            sqlite_writer.reset(token)
            db.session.rollback()

    def step_work(self, args) -> None:
        lines = self._lines()
        if lines:
            self._process(lines[args[0] % len(lines)])

    def step_kill_worker(self, args) -> None:
        """A worker claims a line's next action and is killed before applying it."""
        lines = self._lines()
        if not lines:
            return
        job_id = lines[args[0] % len(lines)]
        token = sqlite_writer.set(True)
        try:
            lock = processor.LineLock(job_id)
            if lock.acquire():
                processor._claim(job_id, False, set(), set())
                # ... killed here; its lock's time limit passes.
                get_redis().delete(lock.key)
        finally:
            sqlite_writer.reset(token)
            db.session.rollback()

    def step_retry_failed(self, args) -> None:
        failed = sorted(
            set(
                db.session.scalars(
                    select(InboxMessage.job_id).where(
                        InboxMessage.state == MessageState.FAILED.value
                    )
                )
            )
            - self._held_jobs()
        )
        db.session.rollback()
        if failed:
            self._process(failed[args[0] % len(failed)], retry=True)

    # --- the cleaner -----------------------------------------------------------------------

    def _clean(self, fn, *args) -> None:
        token = sqlite_writer.set(True)
        try:
            fn(*args)
        finally:
            sqlite_writer.reset(token)
            db.session.rollback()

    def step_compact(self, args) -> None:
        self._clean(retention.clean_feed)

    def step_expire(self, args) -> None:
        """Time passes beyond the feed's retention: every cursor held so far expires."""
        days = self.app.config["SYNC_FEED_RETENTION_DAYS"]
        self._clean(retention.clean_feed, utcnow() + timedelta(days=days, seconds=1))

    def step_clean_inbox(self, args) -> None:
        days = self.app.config["INBOX_RETENTION_DAYS"]
        self._clean(maintenance.clean, 500, utcnow() + timedelta(days=days, seconds=1))

    # --- writers that stay open (PostgreSQL) ---------------------------------------------

    def step_hold(self, args) -> None:
        job = self._job(args[0])
        db.session.rollback()
        if job is None:
            return
        held = Held(job.id)
        held.thread = threading.Thread(target=self._hold, args=(held, args), daemon=True)
        self.held.append(held)
        held.thread.start()
        if not held.ready.wait(30):
            raise Divergence(f"a held writer of job {job.id} did not get going")

    def _hold(self, held: Held, args) -> None:
        with self.app.app_context():
            try:
                job = job_ops.get_for_update(held.job_id)
                actor = self._actor()
                if args[1] % 3 == 0 and job.assignee_id is not None:
                    # Reassign between technicians (the status stays as it is).
                    others = [t for t in self.technician_ids if t != job.assignee_id]
                    tech = db.session.get(User, others[args[2] % len(others)])
                    job_ops.assign(job, tech, actor)
                elif args[1] % 3 == 1:
                    start = datetime(2026, 12, 3, 6, tzinfo=UTC) + timedelta(minutes=args[2])
                    job_ops.update(job, {"scheduled_start": start}, actor)
                else:
                    job_ops.update(job, {"title": f"Held {args[2]}"}, actor)
                db.session.flush()
                held.ready.set()
                if not held.go.wait(120):
                    raise TimeoutError("never released")
                db.session.commit()
            except DomainError:
                db.session.rollback()
            except BaseException as exc:  # reported by release()
                held.error = exc
                db.session.rollback()
            finally:
                held.ready.set()
                db.session.remove()

    def step_release(self, args) -> None:
        if not self.held:
            return
        self._release(self.held.pop(args[0] % len(self.held)))

    def _release(self, held: Held) -> None:
        held.go.set()
        held.thread.join(60)
        if held.thread.is_alive() or held.error is not None:
            raise Divergence(f"the held writer of job {held.job_id} failed: {held.error!r}")

    # --- running and judging ---------------------------------------------------------------

    def run(self, step: Step) -> None:
        getattr(self, f"step_{step.kind}")(step.args)

    def quiesce(self) -> None:
        """Let everything settle: writers commit, phones come online, workers drain."""
        while self.held:
            self._release(self.held.pop())
        for device in self.devices:
            device.go_online("wifi")
        for _ in range(20):
            for device in self.devices:
                self._record(device.sync())
                self._note_answers(device)
            lines = self._lines()
            for job_id in lines:
                self._process(job_id)
            if not lines and not any(d.outbox or d.files for d in self.devices):
                break
        for device in self.devices:
            self._record(device.sync())

    def fresh_view(self, owner: int) -> dict[int, dict]:
        """Return what a brand-new phone of the technician sees after a first sync."""
        phone = DeviceClient(
            self.base_url,
            f"technician{owner}@example.com",
            PASSWORD,
            device_id=f"fresh-{uuid.uuid4().hex[:8]}",
            page_limit=2,
        )
        report = phone.sync()
        if report.error:
            raise Divergence(f"a fresh first sync failed: {report.error}")
        return phone.jobs

    def check(self) -> None:
        """Raise Divergence unless every phone converged and no action was lost."""
        if self.errors:
            raise Divergence(f"the server failed a phone: {self.errors[:3]}")
        fresh = {owner: self.fresh_view(owner) for owner in set(DEVICE_OWNERS)}
        for i, (device, owner) in enumerate(zip(self.devices, DEVICE_OWNERS, strict=True)):
            if device.outbox or device.files:
                raise Divergence(f"phone {i} still holds {device.unsent_count} unsent changes")
            mine, truth = device.jobs, fresh[owner]
            if mine != truth:
                missing = sorted(set(truth) - set(mine))
                extra = sorted(set(mine) - set(truth))
                stale = sorted(j for j in set(mine) & set(truth) if mine[j] != truth[j])
                raise Divergence(
                    f"phone {i} of technician {owner} diverged: missing jobs {missing}, "
                    f"jobs it should not have {extra}, stale jobs {stale}"
                )
        self._check_actions()

    def _check_actions(self) -> None:
        rejected = [a for a, state in self.answers.items() if state == "rejected"]
        if rejected:
            raise Divergence(f"actions of the phones' own jobs were rejected: {rejected[:3]}")
        stored = {
            m.action_id: m
            for m in db.session.scalars(
                select(InboxMessage).where(InboxMessage.action_id.in_(list(self.uploaded)))
            )
        }
        applied = dict(
            db.session.execute(
                select(JobEvent.message_id, func.count())
                .where(JobEvent.message_id.is_not(None))
                .group_by(JobEvent.message_id)
            ).all()
        )
        twice = {m: n for m, n in applied.items() if n > 1}
        if twice:
            raise Divergence(f"actions applied more than once: {twice}")
        for action_id, (device, action) in self.uploaded.items():
            message = stored.get(action_id)
            if message is None:
                if self._cleaned(device, action):
                    continue  # completed, then deleted by the inbox cleaner
                raise Divergence(f"action {action} was uploaded but is not in the inbox")
            self._check_message(message, applied)

    def _cleaned(self, device: DeviceClient, action: dict) -> bool:
        """Tell whether the inbox cleaner deleted the action's line up to its seq."""
        device_pk = db.session.scalar(select(Device.id).where(Device.device_id == device.device_id))
        mark = db.session.get(InboxLineMark, (action["job_id"], device_pk or 0))
        return mark is not None and mark.cleaned_through >= action["seq"]

    def _check_message(self, m: InboxMessage, applied: dict[int, int]) -> None:
        state = m.state
        if state == MessageState.COMPLETED.value:
            if m.type == "note" and applied.get(m.id) != 1:
                raise Divergence(f"completed note {m.action_id} is not in the job's history")
        elif state == MessageState.FAILED.value:
            if not m.error_message:
                raise Divergence(f"failed action {m.action_id} has no reason")
        elif state == MessageState.QUEUED.value:
            if not self._visible_reason(m):
                raise Divergence(f"action {m.action_id} waits with no reason shown")
        elif state != MessageState.DISCARDED.value:
            raise Divergence(f"action {m.action_id} is still {state} after quiescence")

    def _visible_reason(self, m: InboxMessage) -> bool:
        from portal.domain.inbox import queries

        return queries.shown_state(m) in ("held", "waiting")

    def close(self) -> None:
        """Let held writers go and close the phones' connections."""
        for held in self.held:
            held.go.set()
        for held in self.held:
            held.thread.join(30)
        self.held.clear()
        for device in self.devices:
            device.session.close()
