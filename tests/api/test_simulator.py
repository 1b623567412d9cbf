"""The reference device client against a real server, and the simulate command."""

from __future__ import annotations

import subprocess

from sqlalchemy import select

from portal.models import Device, InboxMessage, JobFile
from tests.conftest import ROOT


def test_the_device_client_keeps_photos_for_a_fast_network_and_syncs_on_time(
    live_server, make_user, make_job, db
):
    from portal.simulator import DeviceClient

    tech = make_user("technician")
    job = make_job(tech)
    now = [0.0]
    phone = DeviceClient(live_server, tech.email, "password123", clock=lambda: now[0])

    first = phone.sync()
    assert first.error is None and list(phone.jobs) == [job.id]
    assert phone.last_sync_at is not None and not phone.due()

    phone.go_online("edge")
    phone.act(job.id, "status_change", {"to": "en_route"})
    phone.take_photo(job.id, b"\xff\xd8\xff\xe0" + b"1" * 100)
    assert phone.unsent_count == 3
    assert [a["seq"] for a in phone.outbox] == [1, 2]
    now[0] = 121.0
    slow = phone.tick()
    assert slow.accepted == 2 and slow.files_uploaded == 0
    assert phone.unsent_count == 1  # the photo waits for a fast network
    assert db.session.scalar(select(JobFile.id)) is None
    db.session.rollback()

    phone.go_offline()
    now[0] = 400.0
    assert phone.tick() is None  # offline: nothing happens, nothing is lost
    phone.go_online("wifi")
    phone.on_push({"type": "sync"})
    fast = phone.tick()
    assert fast.files_uploaded == 1 and phone.unsent_count == 0
    db.session.rollback()  # a fresh snapshot: the server wrote meanwhile
    assert len(db.session.scalars(select(InboxMessage)).all()) == 2
    device = db.session.scalar(select(Device))
    assert (device.network, device.unsent_count) == ("wifi", 0)


def test_simulate_command_drives_devices_and_reports(base_env, app):
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "simulate", "--devices", "2",
         "--minutes", "6", "--speed", "2000"],
        cwd=ROOT, env=base_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Simulated 6 minutes of 2 devices" in result.stdout
    assert "devices synced     2" in result.stdout
