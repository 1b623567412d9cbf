"""The reference device client: an outbox, offline/online, network classes, periodic sync.

It behaves like the phone app: every change the technician makes becomes an action in the
outbox (numbered per job: seq 1, 2, 3...), uploaded when the device is online. On a slow
network (2G/EDGE/GPRS) it syncs text only; photos wait for 3G, LTE or Wi-Fi. It syncs every
``sync_every`` seconds and when a push arrives, and knows its unsent count and its last
successful sync.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

SLOW_NETWORKS = frozenset({"2g", "edge", "gprs"})
BATCH = 100


class SyncFailed(RuntimeError):
    """The server could not be reached or answered with an error; nothing is lost."""


@dataclass
class SyncReport:
    """What one sync did."""

    uploaded: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    files_uploaded: int = 0
    pulls: int = 0
    jobs_changed: int = 0
    jobs_removed: int = 0
    results: int = 0
    error: str | None = None
    skipped: bool = False


@dataclass
class PendingFile:
    job_id: int
    file_id: str
    body: bytes
    content_type: str
    name: str


@dataclass
class DeviceClient:
    base_url: str
    email: str
    password: str
    device_id: str = field(default_factory=lambda: f"sim-{uuid.uuid4().hex[:12]}")
    network: str = "wifi"
    sync_every: float = 120.0
    clock: Callable[[], float] = time.monotonic
    timeout: float = 15.0
    session: requests.Session = field(default_factory=requests.Session)
    page_limit: int | None = None  # jobs per pull page; None: the server's default
    push_token: str | None = None  # registered after each sign-in, as the app does

    token: str | None = None
    technician: dict | None = None
    cursor: str | None = None
    online: bool = True
    jobs: dict[int, dict] = field(default_factory=dict)
    outbox: list[dict] = field(default_factory=list)
    files: list[PendingFile] = field(default_factory=list)
    results: dict[str, dict] = field(default_factory=dict)
    rejected: list[dict] = field(default_factory=list)
    last_sync_at: datetime | None = None
    _seq: dict[int, int] = field(default_factory=dict)
    _last_attempt: float | None = None
    _push_pending: bool = False

    # --- what the technician does -----------------------------------------------------

    def act(self, job_id: int, type_: str, payload: dict[str, Any]) -> dict:
        """Record an action in the outbox with the job's next sequence number."""
        self._seq[job_id] = self._seq.get(job_id, 0) + 1
        action = {
            "id": str(uuid.uuid4()),
            "job_id": job_id,
            "seq": self._seq[job_id],
            "type": type_,
            "payload": payload,
            "created_at": datetime.now(UTC).isoformat(),
        }
        self.outbox.append(action)
        return action

    def take_photo(self, job_id: int, body: bytes, content_type: str = "image/jpeg") -> str:
        """Keep a photo for upload and record the photo_added action that refers to it."""
        file_id = f"f-{uuid.uuid4().hex}"
        ext = "png" if content_type == "image/png" else "jpg"
        self.files.append(PendingFile(job_id, file_id, body, content_type, f"{file_id}.{ext}"))
        self.act(job_id, "photo_added", {"file_id": file_id})
        return file_id

    @property
    def unsent_count(self) -> int:
        """Return the actions and photos not yet safely on the server."""
        return len(self.outbox) + len(self.files)

    @property
    def slow(self) -> bool:
        return self.network in SLOW_NETWORKS

    def go_offline(self) -> None:
        self.online = False

    def go_online(self, network: str | None = None) -> None:
        self.online = True
        if network:
            self.network = network

    def on_push(self, data: dict | None = None) -> None:
        """A push arrived ("sync now"): sync at the next tick."""
        self._push_pending = True

    # --- talking to the server ---------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url.rstrip('/')}/api/v1{path}"

    def _call(self, method: str, path: str, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            resp = self.session.request(
                method, self._url(path), headers=headers, timeout=self.timeout, **kw
            )
        except requests.RequestException as exc:
            raise SyncFailed(f"network: {exc.__class__.__name__}") from exc
        if resp.status_code == 401 and path != "/auth/device":
            self.token = None  # expired or revoked: sign in again at the next sync
        if resp.status_code >= 500 or resp.status_code in (401, 429):
            raise SyncFailed(f"{resp.status_code}: {resp.text[:200]}")
        return resp

    def sign_in(self) -> dict:
        """Sign in with the technician's email and password; keep the token."""
        resp = self._call(
            "POST",
            "/auth/device",
            json={
                "email": self.email,
                "password": self.password,
                "device_id": self.device_id,
                "platform": "simulator",
                "app_version": "1.0",
            },
        )
        if resp.status_code != 200:
            raise SyncFailed(f"sign-in refused: {resp.status_code} {resp.text[:200]}")
        body = resp.json()
        self.token, self.technician = body["token"], body["technician"]
        if self.push_token:
            self.register_push_token(self.push_token)
        return body

    def register_push_token(self, token: str) -> None:
        self._call("PUT", "/device/push-token", json={"push_token": token})

    def due(self) -> bool:
        """Tell whether a sync is due: a push arrived or the interval passed."""
        if self._push_pending or self._last_attempt is None:
            return True
        return self.clock() - self._last_attempt >= self.sync_every

    def tick(self) -> SyncReport | None:
        """Sync if one is due and the device is online; return what happened."""
        if not self.online or not self.due():
            return None
        return self.sync()

    def sync(self) -> SyncReport:
        """Upload photos (fast networks only) and actions, then pull until up to date."""
        report = SyncReport()
        if not self.online:
            report.skipped = True
            return report
        self._last_attempt = self.clock()
        self._push_pending = False
        try:
            if self.token is None:
                self.sign_in()
            if not self.slow:  # photos first, so a photo_added action finds its file
                self._upload_files(report)
            self._upload_actions(report)
            self._pull(report)
        except SyncFailed as exc:
            report.error = str(exc)
            return report
        self.last_sync_at = datetime.now(UTC)
        return report

    def _upload_files(self, report: SyncReport) -> None:
        for pending in list(self.files):
            resp = self._call(
                "POST",
                "/files",
                data={
                    "job_id": str(pending.job_id),
                    "file_id": pending.file_id,
                    "sha256": hashlib.sha256(pending.body).hexdigest(),
                },
                files={"file": (pending.name, pending.body, pending.content_type)},
            )
            if resp.status_code in (200, 201):
                report.files_uploaded += resp.status_code == 201
            else:  # refused for good (job gone, not allowed): keep it from blocking the rest
                self.rejected.append({"file_id": pending.file_id, "status": resp.status_code})
            self.files.remove(pending)

    def _upload_actions(self, report: SyncReport) -> None:
        while self.outbox:
            batch = self.outbox[:BATCH]
            remaining = self.unsent_count - len(batch)
            resp = self._call(
                "POST",
                "/sync/push",
                json={"actions": batch, "unsent_count": remaining, "network": self.network},
            )
            if resp.status_code != 200:
                raise SyncFailed(f"upload refused: {resp.status_code} {resp.text[:200]}")
            report.uploaded += len(batch)
            sent = {a["id"] for a in batch}
            for result in resp.json()["results"]:
                state = result["state"]
                setattr(report, state, getattr(report, state) + 1)
                if state == "rejected":
                    self.rejected.append(result)
            # Every answered action leaves the outbox: accepted and duplicate are stored,
            # rejected ones would be rejected again.
            self.outbox = [a for a in self.outbox if a["id"] not in sent]

    def _pull(self, report: SyncReport) -> None:
        # A first sync (no cursor) sends every current job: whatever the phone holds besides
        # them is stale and goes once the sync is complete.
        fresh: set[int] | None = set() if self.cursor is None else None
        while True:
            params: dict[str, Any] = {
                "unsent_count": self.unsent_count,
                "network": self.network,
            }
            if self.cursor:
                params["cursor"] = self.cursor
            if self.page_limit:
                params["limit"] = self.page_limit
            resp = self._call("GET", "/sync/pull", params=params)
            if resp.status_code == 410 or (resp.status_code == 400 and self.cursor):
                # Expired (older than the history kept) or from another server: start over.
                self.cursor, fresh = None, set()
                continue
            if resp.status_code != 200:
                raise SyncFailed(f"pull refused: {resp.status_code} {resp.text[:200]}")
            body = resp.json()
            report.pulls += 1
            for doc in body["jobs"]:
                self.jobs[doc["id"]] = doc
                if fresh is not None:
                    fresh.add(doc["id"])
            for job_id in body["removed"]:
                self.jobs.pop(job_id, None)
                if fresh is not None:
                    fresh.discard(job_id)
            for result in body["action_results"]:
                self.results[result["id"]] = result
            report.jobs_changed += len(body["jobs"])
            report.jobs_removed += len(body["removed"])
            report.results += len(body["action_results"])
            self.cursor = body["cursor"]
            if not body["has_more"]:
                if fresh is not None:
                    for stale in set(self.jobs) - fresh:
                        del self.jobs[stale]
                        report.jobs_removed += 1
                return
