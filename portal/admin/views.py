"""Administration: configuration of transitions, report fields and technician rights."""

from __future__ import annotations

from flask import render_template

from portal.admin import bp


@bp.route("/")
def index():
    return render_template("admin/index.html")
