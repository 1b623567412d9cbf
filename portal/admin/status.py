"""Admin pages: the system status (queues, workers, cron, inbox, pushes)."""

from __future__ import annotations

from flask import render_template

from portal.admin import bp
from portal.domain import health


@bp.route("/status")
def status():
    return render_template("admin/status.html", snap=health.snapshot())
