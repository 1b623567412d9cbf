"""Background work: RQ queues, the worker and cron commands (run inside the app context).

Tasks are plain functions in this package, grouped by area (``inbox``, ``push``,
``maintenance``); the web side enqueues them by dotted name through
``portal.integrations.queue`` and never imports this package.
"""

from __future__ import annotations

import logging
import os
import socket

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from rq import Queue, SimpleWorker

from portal.extensions import db, get_redis, sqlite_writer
from portal.integrations.queue import QueueName

log = logging.getLogger(__name__)


class AppWorker(SimpleWorker):
    """Run each job in-process inside a fresh app context, with its own database session.

    In-process (no fork per job) keeps per-job overhead low, which the push and inbox
    throughput targets need; a crash still only loses the job in hand, which RQ's
    abandoned-job handling and the inbox checker recover.
    """

    app: Flask

    def perform_job(self, job, queue, *args, **kwargs):
        token = sqlite_writer.set(True)  # tasks write: take SQLite's lock up front
        with self.app.app_context():
            try:
                return super().perform_job(job, queue, *args, **kwargs)
            finally:
                db.session.remove()
                sqlite_writer.reset(token)


def make_worker(app: Flask, queues: tuple[str, ...] = QueueName.ALL, name: str | None = None):
    """Return a worker bound to ``app`` listening on ``queues`` (inbox first)."""
    connection = get_redis()
    worker = AppWorker(
        [Queue(q, connection=connection) for q in queues],
        connection=connection,
        name=name or f"{socket.gethostname()}.{os.getpid()}",
    )
    worker.app = app
    return worker


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit when the queues are empty.")
@click.option("--queues", default=",".join(QueueName.ALL), show_default=True)
@click.option("--no-scheduler", is_flag=True, help="Do not run RQ's scheduler in this worker.")
@with_appcontext
def worker_command(burst: bool, queues: str, no_scheduler: bool) -> None:
    """Run an RQ worker (with the RQ scheduler) inside the app context."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    names = tuple(q.strip() for q in queues.split(",") if q.strip())
    get_redis().ping()  # fail fast and clearly when Redis is not there
    worker = make_worker(app, names)
    click.echo(f"worker {worker.name} on {', '.join(names)} at {app.config['REDIS_URL']}")
    worker.work(burst=burst, with_scheduler=not no_scheduler, logging_level=app.config["LOG_LEVEL"])


@click.command("cron")
@with_appcontext
def cron_command() -> None:
    """Run the one process that enqueues periodic work (inbox checker, cleaner)."""
    from rq.cron import CronScheduler

    from workers.schedule import periodic_jobs

    get_redis().ping()
    scheduler = CronScheduler(
        connection=get_redis(), name=f"cron.{socket.gethostname()}.{os.getpid()}"
    )
    for job in periodic_jobs(current_app.config):
        scheduler.register(
            job.func,
            queue_name=job.queue,
            interval=job.interval,
            name=job.name,
            job_timeout=job.timeout,
        )
        click.echo(f"cron: {job.name} every {job.interval} s on {job.queue}")
    scheduler.start()


def init_app(app: Flask) -> None:
    """Register the worker and cron commands on the app's CLI."""
    app.cli.add_command(worker_command)
    app.cli.add_command(cron_command)
