"""A fleet of simulated technicians: what each does per step, and the totals."""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from portal.simulator.client import DeviceClient, SyncReport

NETWORKS = ["wifi", "wifi", "lte", "lte", "3g", "edge", "gprs", "2g"]
# The happy path of a job on the phone; the server decides whether each step holds.
NEXT_STATUS = {"assigned": "en_route", "en_route": "started", "started": "finished"}


@dataclass
class Fleet:
    base_url: str
    logins: list[tuple[str, str]]
    sync_every: float = 120.0
    seed: int = 7
    now: float = 0.0
    devices: list[DeviceClient] = field(default_factory=list)
    totals: Counter = field(default_factory=Counter)
    rng: random.Random = field(init=False)
    _planned: dict[tuple[int, int], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        clock: Callable[[], float] = lambda: self.now  # noqa: E731
        for i, (email, password) in enumerate(self.logins):
            self.devices.append(
                DeviceClient(
                    self.base_url,
                    email,
                    password,
                    device_id=f"sim-{i + 1}-{os.getpid()}",
                    sync_every=self.sync_every,
                    clock=clock,
                    # A real phone registers one; the push log then shows what it was sent.
                    push_token=f"sim-push-{i + 1}-{os.getpid()}",
                )
            )

    def step(self, seconds: float) -> None:
        """Advance simulated time: technicians work, networks change, devices sync."""
        self.now += seconds
        for n, device in enumerate(self.devices):
            self._wander(device)
            self._work(n, device)
            report = device.tick()
            if report is not None:
                self._count(report)

    def _wander(self, device: DeviceClient) -> None:
        roll = self.rng.random()
        if device.online and roll < 0.02:
            device.go_offline()
            self.totals["went offline"] += 1
        elif not device.online and roll < 0.25:
            device.go_online(self.rng.choice(NETWORKS))
        elif roll < 0.05:
            device.network = self.rng.choice(NETWORKS)
        if self.rng.random() < 0.01:
            device.on_push({"type": "sync"})  # a push that woke the phone

    def _work(self, n: int, device: DeviceClient) -> None:
        if not device.jobs or self.rng.random() > 0.15:
            return
        job_id = self.rng.choice(sorted(device.jobs))
        key = (n, job_id)
        status = self._planned.get(key, device.jobs[job_id]["status"])
        roll = self.rng.random()
        if roll < 0.2:
            device.act(job_id, "note", {"text": f"Note at t={int(self.now)}s"})
        elif roll < 0.3:
            device.take_photo(job_id, b"\xff\xd8\xff\xe0" + self.rng.randbytes(2048))
        elif status in NEXT_STATUS:
            target = NEXT_STATUS[status]
            if target == "finished":
                device.act(job_id, "report_update", {"fields": {"resolution": "Fixed"}})
            device.act(job_id, "status_change", {"to": target})
            self._planned[key] = target
        else:
            return
        self.totals["actions made"] += 1

    def _count(self, report: SyncReport) -> None:
        if report.error:
            self.totals["failed syncs"] += 1
            return
        self.totals["syncs"] += 1
        for name in (
            "uploaded",
            "accepted",
            "duplicate",
            "rejected",
            "files_uploaded",
            "pulls",
            "jobs_changed",
            "jobs_removed",
            "results",
        ):
            self.totals[name] += getattr(report, name)

    def summary(self) -> dict[str, int]:
        """Return the totals plus what the devices still hold."""
        out = dict(self.totals)
        out["unsent at end"] = sum(d.unsent_count for d in self.devices)
        out["jobs on devices"] = sum(len(d.jobs) for d in self.devices)
        out["devices synced"] = sum(d.last_sync_at is not None for d in self.devices)
        return out
