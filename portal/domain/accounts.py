"""Users and sign-in: creation, password checks, throttling of failed attempts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

import email_validator
from flask import current_app
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import LoginThrottle, Right, Role, TechnicianRight, User, utcnow


class AccountError(ValueError):
    """A user cannot be created or changed as asked; ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


# Companies run their directories on special-use names (corp.local, acme.test, home.arpa),
# which email_validator refuses by default. Only names that can never be anyone's mailbox stay
# refused. This is the library's documented switch; it applies to every check in the process,
# which is the point: one rule for the CLI, sign-in and every form.
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = ["invalid", "onion"]


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def validate_email(email: str) -> str:
    """Return the address in its one stored spelling; raise AccountError when it is none."""
    email = normalize_email(email)
    if not email or len(email) > 254:
        raise AccountError(f"'{email[:60]}' is not an email address.", "email")
    try:
        email_validator.validate_email(
            email, check_deliverability=False, globally_deliverable=False
        )
    except email_validator.EmailNotValidError as exc:
        raise AccountError(f"'{email[:60]}' is not an email address: {exc}", "email") from None
    return email


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == normalize_email(email)))


def create_user(
    email: str, role: str, password: str, name: str = "", rights: list[Right] | None = None
) -> User:
    """Add a user; technicians get every right unless ``rights`` says otherwise."""
    email = validate_email(email)
    try:
        role_value = Role(role).value
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AccountError(f"Unknown role '{role}'. Choose one of: {known}.", "role") from None
    if len(password or "") < 8:
        raise AccountError("The password needs at least 8 characters.", "password")
    if find_user(email) is not None:
        raise AccountError(f"A user with the email {email} already exists.", "email")
    user = User(email=email, role=role_value, name=(name or "").strip())
    user.set_password(password)
    if role_value == Role.TECHNICIAN.value:
        for right in Right if rights is None else rights:
            user.rights.append(TechnicianRight(right=right.value))
    db.session.add(user)
    db.session.flush()
    return user


@dataclass
class SignIn:
    user: User | None
    error: str | None = None
    retry_after: int | None = None  # seconds, when throttled


def _throttle_row(key: str) -> LoginThrottle | None:
    return db.session.get(LoginThrottle, key)


def sign_in(email: str, password: str, client: str, technician: bool) -> SignIn:
    """Check a sign-in; throttle a key (email and client address) after repeated failures.

    ``technician`` selects the audience: the device API admits only technicians, the portal
    everyone else. The caller commits, so a failure is counted even though sign-in failed.
    """
    email = normalize_email(email)
    key = f"{email}|{client}"
    now = utcnow()
    row = _throttle_row(key)
    if row is not None and row.locked_until is not None and row.locked_until > now:
        wait = math.ceil((row.locked_until - now).total_seconds())
        minutes = max(1, math.ceil(wait / 60))
        return SignIn(
            None,
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' * (minutes > 1)}.",
            wait,
        )
    user = find_user(email)
    if user is None or not user.active or not user.check_password(password or ""):
        _record_failure(key, row, now)
        return SignIn(None, "Wrong email or password.")
    if technician and not user.is_technician:
        return SignIn(None, "Only technicians can sign in on a device.")
    if not technician and user.is_technician:
        return SignIn(None, "Technicians use the mobile app; the portal is for office staff.")
    if row is not None:
        db.session.delete(row)
    return SignIn(user)


def _record_failure(key: str, row: LoginThrottle | None, now) -> None:
    cfg = current_app.config
    window = timedelta(seconds=cfg["LOGIN_LOCKOUT_SECONDS"])
    if row is None or now - row.first_failure_at > window:
        if row is None:
            row = LoginThrottle(key=key)
            db.session.add(row)
        row.failures = 0
        row.first_failure_at = now
        row.locked_until = None
    row.failures += 1
    if row.failures >= cfg["LOGIN_MAX_FAILURES"]:
        row.locked_until = now + window
