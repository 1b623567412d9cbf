"""``users create`` and ``demo``."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import click
from sqlalchemy import func, select

from portal.domain import accounts, timezones, user_admin, wallclock
from portal.domain import jobs as job_ops
from portal.extensions import db, sqlite_writer
from portal.models import Job, Role, User

users_cli = click.Group("users", help="Manage portal users and technicians.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, help="technician, dispatcher, admin or support")
@click.option("--password", required=True)
@click.option("--name", default="")
def users_create(email: str, role: str, password: str, name: str) -> None:
    """Add a portal user or a technician."""
    sqlite_writer.set(True)
    try:
        user = user_admin.create(None, email, role, password, name)
        db.session.commit()
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


def _user(email: str) -> User:
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"No user with the email {accounts.normalize_email(email)}.")
    return user


@users_cli.command("password")
@click.argument("email")
@click.option("--password", required=True, help="the new password (at least 8 characters)")
def users_password(email: str, password: str) -> None:
    """Set a user's password; every session of theirs ends (a technician's phones too)."""
    sqlite_writer.set(True)
    user = _user(email)
    try:
        user_admin.reset_password(None, user, password)
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Password of {user.email} changed; they were signed out everywhere.")


@users_cli.command("deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Stop a user from signing in; their sessions end and their phones are signed out."""
    sqlite_writer.set(True)
    user = _user(email)
    user_admin.set_active(None, user, False)
    db.session.commit()
    click.echo(f"{user.email} is deactivated and signed out everywhere.")


@users_cli.command("activate")
@click.argument("email")
def users_activate(email: str) -> None:
    """Let a deactivated user sign in again."""
    sqlite_writer.set(True)
    user = _user(email)
    user_admin.set_active(None, user, True)
    db.session.commit()
    click.echo(f"{user.email} may sign in again.")


DEMO_PASSWORD = "fieldsync-demo"
DEMO_USERS = [
    ("dispatcher@example.com", Role.DISPATCHER, "Dana Dispatcher"),
    ("admin@example.com", Role.ADMIN, "Adam Admin"),
    ("support@example.com", Role.SUPPORT, "Sam Support"),
    ("tech1@example.com", Role.TECHNICIAN, "Tariq Technician"),
    ("tech2@example.com", Role.TECHNICIAN, "Tess Technician"),
    ("tech3@example.com", Role.TECHNICIAN, "Theo Technician"),
]
_TITLES = [
    "Boiler service",
    "Replace thermostat",
    "Leaking pipe",
    "Annual inspection",
    "Install heat pump",
    "Fix radiator",
    "Check smoke alarms",
    "Repair AC unit",
]
_CUSTOMERS = [
    "Acme Bakery",
    "Northwind Hotel",
    "Globex Offices",
    "Initech",
    "Umbrella Clinic",
    "Stark Apartments",
    "Wayne Library",
    "Hooli Campus",
]


def load_demo(jobs: int = 24) -> list[tuple[str, str, str]]:
    """Load demo users and jobs when the database has none; return (email, role, password)."""
    logins = [(email, role.value, DEMO_PASSWORD) for email, role, _ in DEMO_USERS]
    if db.session.scalar(select(func.count(User.id))):
        return logins
    created = {}
    for email, role, name in DEMO_USERS:
        created[email] = accounts.create_user(email, role.value, DEMO_PASSWORD, name)
    dispatcher = created["dispatcher@example.com"]
    techs = [u for u in created.values() if u.is_technician]
    actor = job_ops.Actor.portal(dispatcher)
    rng = random.Random(7)
    # Working hours of the company's zone, from 08:00 local time.
    zone = timezones.company_zone()
    day = wallclock.from_local_lenient(datetime.combine(wallclock.today(zone), time(8)), zone)
    for i in range(jobs):
        start = day + timedelta(days=i % 3 - 1, hours=rng.randint(0, 8))
        job = job_ops.create(
            {
                "title": rng.choice(_TITLES),
                "description": "Demo job. Call the customer 30 minutes before arrival.",
                "customer": rng.choice(_CUSTOMERS),
                "address": f"{rng.randint(1, 200)} Main Street, Springfield",
                "scheduled_start": start,
                "scheduled_end": start + timedelta(hours=rng.choice([1, 2, 3])),
            },
            actor,
        )
        if i % 4 != 3:
            job_ops.assign(job, techs[i % len(techs)], actor)
    db.session.commit()
    return logins


@click.command("demo")
def demo() -> None:
    """Load demo data (a user of each role, technicians, jobs) and print the logins."""
    sqlite_writer.set(True)
    existing = db.session.scalar(select(func.count(Job.id)))
    logins = load_demo()
    if existing:
        click.echo("The database already has data; demo data was not loaded again.")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for email, role, _ in logins:
        click.echo(f"  {role:<11} {email}")
