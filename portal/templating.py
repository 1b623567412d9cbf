"""Jinja filters and globals shared by every page (dates and times: ``portal.localtime``)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, current_app, get_flashed_messages, request, session, url_for

from portal import drafts
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
# Label, page, who sees it, and the endpoints (prefixes) of the pages it is highlighted on.
NAV = [
    ("Day board", "dispatch.board", Role.DISPATCHER, ("dispatch.board",)),
    ("Technicians", "dispatch.technicians", Role.DISPATCHER, ("dispatch.technicians",)),
    ("Inbox", "inbox.index", Role.ADMIN, ("inbox.",)),
    ("Pushes", "admin.pushes", Role.ADMIN, ("admin.pushes",)),
    (
        "Configuration",
        "admin.index",
        Role.ADMIN,
        (
            "admin.index",
            "admin.company",
            "admin.transitions",
            "admin.report_fields",
            "admin.technician",
        ),
    ),  # fmt: skip
    ("Status", "admin.status", Role.ADMIN, ("admin.status",)),
    ("Users", "admin.users", Role.ADMIN, ("admin.user",)),
]


def status_label(value) -> str:
    """Name a status as people say it ("En route"); an unknown value is shown as it is."""
    try:
        return Status(value).label
    except ValueError:
        return str(value or "")


def nav_items(user) -> list[dict]:
    """Return the navigation entries this user may open."""
    items = []
    for label, endpoint, role, pages in NAV:
        if endpoint in current_app.view_functions and user.role_enum.at_least(role):
            items.append({"label": label, "url": url_for(endpoint), "prefix": pages})
    return items


def is_live_refresh() -> bool:
    """Tell whether this request is a page fetching itself again to morph in what changed."""
    return request.headers.get("X-Requested-With") == "live"


def page_flashes(with_categories: bool = False, category_filter=()) -> list:
    """Return the flash messages to show; a live refresh reads them without taking them.

    The message belongs to the page the person is being sent to: a refresh that an older tab
    (or the page being left) fetches at that moment must not consume it.
    """
    if not is_live_refresh():
        return get_flashed_messages(with_categories, category_filter)
    stored = session.get("_flashes") or []
    if category_filter:
        stored = [f for f in stored if f[0] in category_filter]
    return list(stored) if with_categories else [m for _, m in stored]


def init_app(app: Flask) -> None:
    app.jinja_env.filters["timeago"] = timeago
    app.jinja_env.filters["status_label"] = status_label
    app.jinja_env.globals.update(Role=Role, Status=Status, nav_items=nav_items)
    app.jinja_env.globals["get_flashed_messages"] = page_flashes
    app.jinja_env.globals["form_draft"] = drafts.take
    app.jinja_env.globals["pushes_for_job"] = pushes_for_job  # the job page's push list
