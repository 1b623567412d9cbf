"""The company's settings: its time zone (the zone of everyone who has not chosen their own)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import localtime
from portal.admin import bp
from portal.domain import timezones
from portal.domain.errors import ValidationError
from portal.extensions import db
from portal.models import utcnow


@bp.route("/company", methods=["GET", "POST"])
def company():
    """Show and set the company's time zone."""
    error = None
    current = timezones.company_zone_name()
    chosen = current
    if request.method == "POST":
        chosen = (request.form.get("timezone") or "").strip()
        try:
            timezones.set_company_zone(chosen, current_user._get_current_object())
        except ValidationError as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash(
                f"The company's time zone is now {chosen}. Jobs keep their moment in time; "
                "pages and phones show it in the new zone.",
                "success",
            )
            return redirect(url_for("admin.company"))
    return render_template(
        "admin/company.html",
        zone=chosen,
        current=current,
        is_set=timezones.company_zone_is_set(),
        zone_groups=localtime.zone_groups(chosen),
        error=error,
        now=utcnow(),
    ), (422 if error else 200)
