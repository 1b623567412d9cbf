"""Who may open which route: every endpoint declares it, and undeclared ones are refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Flask, abort, current_app, jsonify, redirect, request, url_for
from flask_login import current_user

from portal import drafts
from portal.errors import json_wanted
from portal.models import Role

F = TypeVar("F", bound=Callable)

PUBLIC = "public"
DEVICE = "device"  # the device API authenticates by bearer token itself

_blueprint_defaults: dict[str, str | Role] = {}


def requires(role: Role) -> Callable[[F], F]:
    """Mark a view as open to ``role`` and every higher portal role."""

    def mark(view: F) -> F:
        view._access = role  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Mark a view as open to anyone (sign-in page, health check)."""
    view._access = PUBLIC  # type: ignore[attr-defined]
    return view


def protect_blueprint(bp: Blueprint, access: str | Role) -> None:
    """Give every view of ``bp`` that declares nothing itself this access rule."""
    _blueprint_defaults[bp.name] = access


def rule_for(app: Flask, endpoint: str) -> str | Role | None:
    """Return the access rule of an endpoint, or None where it declares none."""
    view = app.view_functions.get(endpoint)
    rule = getattr(view, "_access", None)
    if rule is None and "." in endpoint:
        rule = _blueprint_defaults.get(endpoint.rsplit(".", 1)[0])
    if rule is None and endpoint == "static":
        rule = PUBLIC
    return rule


def enforce():
    """Refuse the request unless the signed-in user's role reaches the endpoint's rule."""
    endpoint = request.endpoint
    if endpoint is None:  # 404/405: Flask answers those itself
        return None
    rule = rule_for(current_app, endpoint)
    if rule in (PUBLIC, DEVICE):
        return None
    if rule is None:
        # Deny by default: a route that forgot to declare who may use it is closed.
        current_app.logger.error("endpoint %s declares no access rule; refused", endpoint)
        abort(403)
    if not current_user.is_authenticated:
        if json_wanted():
            return jsonify(error="unauthenticated", message="Sign in first."), 401
        target = request.full_path
        if request.method == "POST":
            # The session ended while a form was open: keep what was typed, and come back
            # to the form's page (the POST's own URL may not answer a GET) after sign-in.
            drafts.keep()
            target = drafts.origin_page() or request.path
        return redirect(url_for("auth.login", next=target))
    if current_user.is_technician or not current_user.role_enum.at_least(rule):
        abort(403)
    return None
