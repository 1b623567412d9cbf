"""What an admin does to one user: details and role, password, (de)activation, phones."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from portal.admin import bp
from portal.admin.users import load_user, me, render_user
from portal.domain import user_admin
from portal.domain.accounts import AccountError
from portal.extensions import db


def _back(user_id: int):
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("admin.user_detail", user_id=user_id))


def managed_user(user_id: int):
    """Load and lock a user the signed-in admin may manage, or answer 404 or 403."""
    user = load_user(user_id, lock=True)
    if not user_admin.may_manage(me(), user):
        abort(403, "You may only manage users below your own role, and not yourself.")
    return user


@bp.route("/users/<int:user_id>/edit", methods=["POST"])
def user_edit(user_id: int):
    """Save a user's name and role."""
    user = managed_user(user_id)
    try:
        user_admin.update(
            me(),
            user,
            request.form.get("name", ""),
            request.form.get("role", ""),
            request.form.get("seen_role", ""),
        )
    except AccountError as exc:
        db.session.rollback()
        return render_user(load_user(user_id), {exc.field or "role": str(exc)}, 422)
    db.session.commit()
    flash(f"{user.display_name} is saved ({user.role}).", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def user_password(user_id: int):
    """Give a user a new password; they are signed out everywhere, phones included."""
    user = managed_user(user_id)
    password = request.form.get("password", "")
    try:
        if password != request.form.get("password_again", ""):
            raise AccountError("The two passwords differ.", "password_again")
        user_admin.reset_password(me(), user, password)
    except AccountError as exc:
        db.session.rollback()
        return render_user(load_user(user_id), {exc.field or "password": str(exc)}, 422)
    db.session.commit()
    flash(
        f"{user.display_name} has a new password and was signed out everywhere. "
        "Tell them the new password in person or by phone.",
        "success",
    )
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.route("/users/<int:user_id>/active", methods=["POST"])
def user_active(user_id: int):
    """Switch a user off (or on again); only users below the admin's own role, never oneself."""
    user = managed_user(user_id)
    active = request.form.get("active") == "1"
    changed = user_admin.set_active(me(), user, active)
    db.session.commit()
    if not changed:
        state = "active" if active else "deactivated"
        flash(f"{user.display_name} was already {state}.", "info")
    elif active:
        flash(f"{user.display_name} may sign in again.", "success")
    else:
        flash(
            f"{user.display_name} is deactivated: signed out everywhere, phones included.",
            "success",
        )
    return _back(user.id)


@bp.route("/users/<int:user_id>/devices/revoke", methods=["POST"])
def user_devices_revoke(user_id: int):
    """Sign every phone of a technician out: their sync stops until they sign in again."""
    user = managed_user(user_id)
    count = user_admin.revoke_devices(me(), user)
    db.session.commit()
    if count:
        phones = "phone was" if count == 1 else f"{count} phones were"
        flash(f"{user.display_name}'s {phones} signed out. They stop syncing.", "success")
    else:
        flash(f"{user.display_name} has no signed-in phone.", "info")
    return _back(user.id)
