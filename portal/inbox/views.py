"""The inbox of device actions."""

from __future__ import annotations

from flask import render_template

from portal.inbox import bp


@bp.route("/")
def index():
    return render_template("inbox/index.html")
