"""My settings: the zone a person sees and types times in, and their date and time format."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal import localtime
from portal.account import bp
from portal.domain import timezones
from portal.domain.errors import ValidationError
from portal.extensions import db
from portal.models import utcnow


def format_choices() -> list[tuple[str, str]]:
    """Return (locale, "English (United Kingdom) — Mon, 4 May 2026, 13:05") for the picker."""
    sample = utcnow()
    out = []
    for code in localtime.FORMATS:
        out.append((code, f"{localtime.format_name(code)} — {localtime.example(code, sample)}"))
    return out


def _back(default: str):
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(default)


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    """Show and change the signed-in person's zone and date format."""
    errors: dict[str, str] = {}
    user = current_user._get_current_object()
    zone = user.timezone or ""
    chosen_format = user.locale or ""
    if request.method == "POST":
        zone = (request.form.get("timezone") or "").strip()
        chosen_format = (request.form.get("locale") or "").strip()
        try:
            timezones.set_user_preferences(user, zone, chosen_format)
        except ValidationError as exc:
            db.session.rollback()
            errors[exc.field or "timezone"] = exc.message
        else:
            db.session.commit()
            flash(f"Saved. Times now show in {timezones.user_zone_name(user)}.", "success")
            return redirect(url_for("account.settings"))
    return render_template(
        "account/settings.html",
        zone=zone,
        chosen_format=chosen_format,
        zone_groups=localtime.zone_groups(zone),
        formats=format_choices(),
        browser_format_example=(
            f"{localtime.format_name(localtime.browser_locale())} — "
            f"{localtime.example(localtime.browser_locale(), utcnow())}"
        ),
        viewer_now=utcnow(),
        errors=errors,
        company_zone=timezones.company_zone_name(),
    ), (422 if errors else 200)


@bp.post("/settings/timezone")
def use_zone():
    """Take one zone as the person's own (the offer made when the computer's zone differs)."""
    user = current_user._get_current_object()
    try:
        timezones.set_user_zone(user, request.form.get("timezone"))
    except ValidationError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"Times now show in {timezones.user_zone_name(user)}.", "success")
    return _back(url_for("account.settings"))
