"""User administration pages: the list, adding a user, one user's page with their history."""

from __future__ import annotations

from collections import Counter

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from portal.admin import bp
from portal.domain import user_admin
from portal.domain.accounts import AccountError
from portal.extensions import db
from portal.models import Device, Role, User, UserAudit

ROLE_FILTERS = [r.value for r in Role]


def me() -> User:
    return current_user._get_current_object()


def load_user(user_id: int, lock: bool = False) -> User:
    """Return the user or answer 404; ``lock`` holds the row against a concurrent change."""
    user = db.session.get(User, user_id, with_for_update=lock)
    if user is None:
        abort(404, "There is no such user.")
    return user


@bp.route("/users")
def users():
    """List everyone, filtered by role and by active or deactivated."""
    role = request.args.get("role", "")
    state = request.args.get("state", "")
    query = select(User).order_by(User.active.desc(), User.role, User.name, User.email)
    if role in ROLE_FILTERS:
        query = query.where(User.role == role)
    if state in ("active", "inactive"):
        query = query.where(User.active.is_(state == "active"))
    rows = list(db.session.scalars(query))
    live = dict(
        db.session.execute(
            select(Device.user_id, func.count())
            .where(Device.revoked_at.is_(None))
            .group_by(Device.user_id)
        ).all()
    )
    by_role = Counter(db.session.scalars(select(User.role)))
    recent = db.session.scalars(select(UserAudit).order_by(UserAudit.id.desc()).limit(10)).all()
    return render_template(
        "admin/users.html",
        rows=rows,
        live=live,
        by_role=by_role,
        role=role,
        state=state,
        roles=ROLE_FILTERS,
        recent=recent,
    )


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    """Add a portal user or a technician, with a first password."""
    errors: dict[str, str] = {}
    form = request.form
    if request.method == "POST":
        try:
            user = user_admin.create(
                me(),
                form.get("email", ""),
                form.get("role", ""),
                form.get("password", ""),
                form.get("name", ""),
            )
        except AccountError as exc:
            db.session.rollback()
            errors[exc.field or "email"] = str(exc)
        else:
            db.session.commit()
            flash(f"{user.display_name} ({user.role}) was added and may sign in.", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template(
        "admin/user_new.html",
        errors=errors,
        form=form,
        roles=[r.value for r in user_admin.assignable_roles(me())],
    ), (422 if errors else 200)


def render_user(user: User, errors: dict[str, str] | None = None, status: int = 200):
    """Render one user's page: details form, password, access, phones and history."""
    devices = db.session.scalars(
        select(Device)
        .where(Device.user_id == user.id)
        .order_by(Device.revoked_at.is_not(None), Device.last_sync_at.desc().nulls_last())
    ).all()
    history = db.session.scalars(
        select(UserAudit).where(UserAudit.user_id == user.id).order_by(UserAudit.id.desc())
    ).all()
    return render_template(
        "admin/user.html",
        user=user,
        devices=devices,
        live_devices=[d for d in devices if d.revoked_at is None],
        history=history,
        errors=errors or {},
        form=request.form,
        roles=[r.value for r in user_admin.assignable_roles(me())],
        manageable=user_admin.may_manage(me(), user),
    ), status


@bp.route("/users/<int:user_id>")
def user_detail(user_id: int):
    return render_user(load_user(user_id))
