"""The admin status page shows queues, workers, cron, periodic runs, inbox and pushes."""

from __future__ import annotations

import subprocess
import time
from datetime import timedelta

from portal.integrations.queue import QueueName, enqueue
from portal.models import InboxMessage, Push, utcnow
from tests.conftest import ROOT


def _failed_message(db, technician, minutes_ago: int) -> None:
    db.session.add(
        InboxMessage(
            action_id="00000000-0000-4000-8000-000000000001",
            technician_id=technician.id,
            job_id=1,
            seq=1,
            type="note",
            payload={"text": "x"},
            payload_hash="0" * 64,
            state="failed",
            error_category="validation",
            updated_at=utcnow() - timedelta(minutes=minutes_ago),
        )
    )
    db.session.add(Push(reason="assigned", state="sent"))
    db.session.commit()


def test_status_shows_a_missing_worker_queue_depth_and_the_oldest_failure(
    client, login_as, db, make_user
):
    login_as("admin")
    _failed_message(db, make_user("technician"), minutes_ago=42)
    enqueue("workers.maintenance.check_inbox", queue_name=QueueName.DEFAULT)
    page = client.get("/admin/status").get_data(as_text=True)
    assert "No worker is running" in page
    assert '<tr data-queue="default"><td>default</td><td>1</td>' in page
    assert "42 min ago" in page
    assert 'data-label="failed" data-count="1"' in page  # inbox bars
    assert 'data-label="sent" data-count="1"' in page  # push bars
    assert "not running" in page  # no cron process


def test_status_shows_a_running_worker_and_the_last_periodic_run(client, login_as, base_env):
    login_as("admin")
    enqueue("workers.maintenance.check_inbox", queue_name=QueueName.DEFAULT)
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "worker", "--no-scheduler"],
        cwd=ROOT,
        env=base_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            page = client.get("/admin/status").get_data(as_text=True)
            if "1 alive" in page and "inbox-checker" in page:
                break
            time.sleep(0.3)
        assert "1 alive" in page
        assert "inbox-checker" in page
    finally:
        proc.terminate()
        proc.wait(20)


def test_dispatchers_cannot_see_the_status_page(client, login_as):
    login_as("dispatcher")
    assert client.get("/admin/status").status_code == 403
