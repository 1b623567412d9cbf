"""``simulate``: drive reference device clients against a running server."""

from __future__ import annotations

import threading
import time
from typing import Any, cast

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm
from werkzeug.serving import BaseWSGIServer

DEMO_PASSWORD = "fieldsync-demo"


def _local_technicians(count: int) -> list[tuple[str, str]]:
    """Make sure tech1..N exist in the local database, each with a few jobs."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, select

    from portal.domain import accounts
    from portal.domain import jobs as job_ops
    from portal.extensions import db, sqlite_writer
    from portal.models import Job

    sqlite_writer.set(True)
    actor = job_ops.Actor(None, job_ops.Origin.SYSTEM)
    logins = []
    for i in range(1, count + 1):
        email = f"tech{i}@example.com"
        user = accounts.find_user(email) or accounts.create_user(
            email, "technician", DEMO_PASSWORD, f"Simulated Technician {i}"
        )
        if not user.is_technician:
            raise click.ClickException(f"{email} exists and is not a technician.")
        has_jobs = db.session.scalar(select(func.count(Job.id)).where(Job.assignee_id == user.id))
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        for k in range(0 if has_jobs else 3):
            job = job_ops.create(
                {
                    "title": f"Simulated visit {k + 1}",
                    "customer": f"Customer of {email}",
                    "address": f"{k + 1} Simulation Road",
                    "scheduled_start": start + timedelta(hours=k),
                    "scheduled_end": start + timedelta(hours=k + 1),
                },
                actor,
            )
            job_ops.assign(job, user, actor)
        logins.append((email, DEMO_PASSWORD))
    db.session.commit()
    sqlite_writer.set(False)
    return logins


def _serve_locally() -> tuple[str, BaseWSGIServer]:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request

    app = cast(Any, current_app)._get_current_object()  # the app itself, not its proxy
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@click.command("simulate")
@click.option("--devices", "count", default=3, show_default=True, help="Simulated technicians.")
@click.option("--minutes", default=10.0, show_default=True, help="Simulated minutes to run.")
@click.option("--url", default=None, help="A running server; default: this app, served here.")
@click.option("--sync-every", default=120.0, show_default=True, help="Seconds between syncs.")
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    help="Simulated seconds per real second (1 = real time).",
)
@click.option("--step", default=10.0, show_default=True, help="Simulated seconds per step.")
@with_appcontext
def simulate(
    count: int, minutes: float, url: str | None, sync_every: float, speed: float, step: float
) -> None:
    """Drive simulated technicians' devices against a running server."""
    from portal.simulator.fleet import Fleet

    if count < 1 or minutes <= 0 or speed <= 0 or step <= 0:
        raise click.BadParameter("devices, minutes, speed and step must be positive.")
    server: BaseWSGIServer | None = None
    if url is None:
        logins = _local_technicians(count)
        url, server = _serve_locally()
        click.echo(f"Serving this app's database at {url}")
    else:
        logins = [(f"tech{i}@example.com", DEMO_PASSWORD) for i in range(1, count + 1)]
    fleet = Fleet(url, logins, sync_every=sync_every)
    steps = max(1, int(minutes * 60 / step))
    try:
        with tqdm(total=steps, unit="step", desc=f"{count} devices") as bar:
            for _ in range(steps):
                began = time.monotonic()
                fleet.step(step)
                bar.set_postfix(
                    accepted=fleet.totals["accepted"], pulls=fleet.totals["pulls"], refresh=False
                )
                bar.update()
                time.sleep(max(0.0, step / speed - (time.monotonic() - began)))
    finally:
        if server is not None:
            server.shutdown()
    failed_signins = [d.email for d in fleet.devices if d.token is None]
    click.echo(f"Simulated {minutes:g} minutes of {count} devices against {url}:")
    for name, value in sorted(fleet.summary().items()):
        click.echo(f"  {name:<18} {value}")
    if failed_signins:
        click.echo(f"  could not sign in: {', '.join(failed_signins)}")
    if fleet.devices and fleet.devices[0].rejected:
        click.echo(f"  e.g. rejected: {fleet.devices[0].rejected[0]}")
