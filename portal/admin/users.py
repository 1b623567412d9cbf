"""Deactivate or reactivate a user: deactivation ends their sessions and signs out their phones."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from portal.admin import bp
from portal.domain import accounts
from portal.extensions import db
from portal.models import User


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def user_active(user_id: int):
    """Switch a user off (or on again); only users below the admin's own role, never oneself."""
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        abort(404, "There is no such user.")
    me = current_user._get_current_object()
    if user.id == me.id or user.role_enum.rank >= me.role_enum.rank:
        abort(403, "You may only switch off users below your own role.")
    active = request.form.get("active") == "1"
    accounts.set_active(user, active)
    db.session.commit()
    if active:
        flash(f"{user.display_name} may sign in again.", "success")
    else:
        flash(
            f"{user.display_name} is deactivated: signed out everywhere, phones included.",
            "success",
        )
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("admin.technicians"))
