"""Jinja filters and globals shared by every page (dates and times: ``portal.localtime``)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app, url_for

from portal.domain.push.triggers import pushes_for_job
from portal.models import Role, Status


def timeago(value: datetime | None, now: datetime | None = None) -> str:
    """Render a past time as '3 min ago'."""
    if value is None:
        return "never"
    now = now or datetime.now(UTC)
    seconds = int((now - value).total_seconds())
    if seconds < 0:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return "just now" if seconds < 10 else f"{seconds} s ago"


# (label, endpoint, lowest role): the main navigation; entries whose page is absent are skipped.
NAV = [
    ("Day board", "dispatch.board", Role.DISPATCHER),
    ("Technicians", "dispatch.technicians", Role.DISPATCHER),
    ("Inbox", "inbox.index", Role.ADMIN),
    ("Pushes", "admin.pushes", Role.ADMIN),
    ("Configuration", "admin.index", Role.ADMIN),
    ("Status", "admin.status", Role.ADMIN),
]


def nav_items(user) -> list[dict]:
    """Return the navigation entries this user may open."""
    items = []
    for label, endpoint, role in NAV:
        if endpoint in current_app.view_functions and user.role_enum.at_least(role):
            prefix = endpoint.rsplit(".", 1)[0] + "." + endpoint.rsplit(".", 1)[1][:5]
            items.append({"label": label, "url": url_for(endpoint), "prefix": prefix})
    return items


def init_app(app: Flask) -> None:
    app.jinja_env.filters["timeago"] = timeago
    app.jinja_env.globals.update(Role=Role, Status=Status, nav_items=nav_items)
    app.jinja_env.globals["pushes_for_job"] = pushes_for_job  # the job page's push list
