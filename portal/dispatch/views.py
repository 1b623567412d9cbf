"""Dispatcher pages: the job list."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from sqlalchemy import select

from portal.dispatch import bp
from portal.extensions import db
from portal.models import Job


@bp.route("/")
def index():
    return redirect(url_for("dispatch.jobs"))


@bp.route("/jobs")
def jobs():
    rows = db.session.scalars(select(Job).order_by(Job.scheduled_start.desc()).limit(50)).all()
    return render_template("dispatch/jobs.html", jobs=rows)
