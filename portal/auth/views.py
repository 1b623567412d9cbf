"""Portal sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from portal import params
from portal.access import public, requires
from portal.auth import bp
from portal.auth.forms import LoginForm, PasswordForm
from portal.domain import accounts
from portal.extensions import db, limiter, login_manager
from portal.models import Role, User


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """Return the user of a session or remember cookie, if that session is still theirs.

    The cookie carries ``<user id>:<session token>`` (``User.get_id``); signing out, a password
    change or deactivation replaces the token, which ends every session made with the old one.
    """
    raw_id, _, token = (session_id or "").partition(":")
    user_id = params.whole(raw_id)
    if user_id is None or not token:
        return None
    user = db.session.get(User, user_id)
    # A technician's session is never honoured by the portal, whatever made it.
    if user is None or user.is_technician or not user.active or not user.holds_session(token):
        return None
    return user


def _safe_next(target: str | None) -> str:
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("dispatch.jobs")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        result = accounts.sign_in(
            form.email.data, form.password.data, request.remote_addr or "", technician=False
        )
        db.session.commit()
        if result.user is not None:
            login_user(result.user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        error = result.error
        if result.retry_after:
            return (
                render_template("auth/login.html", form=form, error=error),
                429,
                {"Retry-After": str(result.retry_after)},
            )
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@public
def logout():
    """Sign out here and everywhere: every session and remember cookie of the user ends."""
    if current_user.is_authenticated:
        accounts.end_sessions(current_user._get_current_object())
        db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@requires(Role.DISPATCHER)
def change_password():
    """Let a portal user change their password; their other sessions end, this one goes on."""
    form = PasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not user.check_password(form.current.data or ""):
            form.current.errors.append("This is not your current password.")
        else:
            try:
                accounts.change_password(user, form.new.data)
            except accounts.AccountError as exc:
                form.new.errors.append(str(exc))
            else:
                db.session.commit()
                # The change ended every session, this one too: sign this one in afresh.
                login_user(user, remember=bool(request.cookies.get("remember_token")))
                flash("Your password was changed. You were signed out everywhere else.", "success")
                return redirect(url_for("dispatch.jobs"))
    if request.method == "POST":
        status = 422
    return render_template("auth/password.html", form=form), status


@bp.route("/healthz")
@public
def healthz():
    return {"ok": True}
