"""Device sign-in tokens (issue, authenticate, revoke; stored hashed) and push tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.effects import after_commit
from portal.extensions import db
from portal.integrations import realtime
from portal.models import Device, User, utcnow


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    user: User, device_id: str, platform: str = "", app_version: str = ""
) -> tuple[Device, str]:
    """Upsert ``user``'s device record by ``device_id`` and give it a new token.

    The record is the technician's own: another technician naming the same installation id
    (a shared phone, or someone copying an id) gets a separate record, and the first one's
    token, push token and results stay theirs. A phone handed over moves its push token when
    the new technician's app registers it (``PUT /device/push-token``).
    """
    device = db.session.scalar(
        select(Device).where(Device.user_id == user.id, Device.device_id == device_id)
    )
    if device is None:
        try:
            # A savepoint: the same phone signing in twice at once loses on the unique index.
            with db.session.begin_nested():
                device = Device(device_id=device_id, user_id=user.id)
                db.session.add(device)
        except IntegrityError:
            device = db.session.scalar(
                select(Device).where(Device.user_id == user.id, Device.device_id == device_id)
            )
            if device is None:
                raise
    token = secrets.token_urlsafe(32)
    now = utcnow()
    device.platform = (platform or "")[:40]
    device.app_version = (app_version or "")[:40]
    device.token_hash = hash_token(token)
    device.token_issued_at = now
    device.last_seen_at = now
    device.revoked_at = None
    db.session.flush()
    announce(user.id)
    return device, token


def authenticate(token: str) -> Device | None:
    """Return the device of a live token, or None (unknown, revoked or idle too long)."""
    if not token:
        return None
    device = db.session.scalar(select(Device).where(Device.token_hash == hash_token(token)))
    if device is None or device.revoked_at is not None or not device.user.active:
        return None
    idle = timedelta(days=current_app.config["DEVICE_TOKEN_IDLE_DAYS"])
    if device.last_seen_at is not None and utcnow() - device.last_seen_at > idle:
        return None
    return device


def announce(user_id: int) -> None:
    """After commit, tell open Technicians pages that this technician's phones changed."""
    after_commit(_emit_changed, user_id)


def _emit_changed(user_id: int) -> None:
    realtime.emit("device_changed", {"user_id": user_id}, realtime.Room.JOBS)


def with_phone(user_ids: Iterable[int]) -> set[int]:
    """Return which of these technicians have a phone signed in now."""
    ids = list(set(user_ids))
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(Device.user_id)
            .where(Device.user_id.in_(ids), Device.revoked_at.is_(None))
            .where(Device.token_hash.is_not(None))
            .distinct()
        )
    )


def revoke(device: Device) -> None:
    """End the device's sign-in; it must sign in again. Its push token goes too."""
    device.token_hash = None
    device.revoked_at = utcnow()
    device.push_token = None
    announce(device.user_id)


def set_push_token(device: Device, token: str | None) -> datetime:
    """Register or clear ``device``'s FCM token; return when it changed."""
    now = utcnow()
    if token is not None:
        # One installation, one token: a reinstall under a new device id must not leave the
        # old record receiving another technician's pushes.
        db.session.execute(
            update(Device)
            .where(Device.push_token == token, Device.id != device.id)
            .values(push_token=None, push_token_updated_at=now)
        )
    device.push_token = token
    device.push_token_updated_at = now
    announce(device.user_id)
    return now
