"""Device sign-in and the push-token registration."""

from __future__ import annotations

from flask import current_app, jsonify, request

from portal.api import bp
from portal.api.common import ApiError, anonymous, current_device, json_body, text
from portal.domain import accounts, devices, timezones
from portal.extensions import db, limiter


@bp.post("/auth/device")
@anonymous
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"])
def sign_in():
    """Exchange a technician's email and password for a device token."""
    data = json_body()
    email = text(data, "email", 254)
    password = text(data, "password", 1000, allow_empty=True)
    device_id = text(data, "device_id", 200)
    platform = text(data, "platform", 40, required=False) or ""
    app_version = text(data, "app_version", 40, required=False) or ""
    try:
        email = accounts.validate_email(email)
    except accounts.AccountError as exc:
        raise ApiError(422, "invalid", str(exc), "email") from None
    result = accounts.sign_in(email, password, request.remote_addr or "", technician=True)
    if result.user is None:
        # The failure counter must survive the refusal: commit before answering.
        db.session.commit()
        if result.retry_after:
            raise ApiError(
                429, "throttled", result.error, headers={"Retry-After": str(result.retry_after)}
            )
        if result.error and "technician" in result.error.lower():
            raise ApiError(403, "forbidden", result.error)
        raise ApiError(401, "invalid_credentials", result.error or "Wrong email or password.")
    device, token = devices.issue_token(result.user, device_id.strip(), platform, app_version)
    user = result.user
    db.session.commit()
    return jsonify(
        token=token,
        technician={"id": user.id, "email": user.email, "name": user.display_name},
        device={"id": device.id, "device_id": device.device_id},
        timezone=timezones.company_zone_name(),
    )


@bp.put("/device/push-token")
def push_token():
    """Register or replace this device's FCM token (null or empty clears it)."""
    data = json_body()
    if "push_token" not in data:
        raise ApiError(422, "missing", "'push_token' is required (null clears it).", "push_token")
    token = (text(data, "push_token", 4096, required=False) or "").strip() or None
    now = devices.set_push_token(current_device(), token)
    db.session.commit()
    return jsonify(ok=True, push_token_updated_at=now.isoformat())
