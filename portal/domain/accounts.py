"""Users and sign-in: creation, password checks, throttling, and ending sessions."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass

import email_validator
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from portal.domain import throttle
from portal.effects import after_commit
from portal.extensions import db
from portal.integrations import realtime
from portal.models import Device, Right, Role, TechnicianRight, User


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


_dummy_hash: str | None = None


def _spend_a_password_check(password: str) -> bool:
    """Hash as long as a real check does, so the answer's timing tells no email apart."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = generate_password_hash(secrets.token_hex(16), method="scrypt")
    check_password_hash(_dummy_hash, password)
    return False


def sign_in(email: str, password: str, client: str, technician: bool) -> SignIn:
    """Check a sign-in; throttle failures per account, per address and per both (Redis).

    ``technician`` selects the audience: the device API admits only technicians, the portal
    everyone else. An unknown email costs the same password hashing as a known one.
    """
    email = normalize_email(email)
    wait = throttle.wait_seconds(email, client)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        return SignIn(
            None,
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' * (minutes > 1)}.",
            wait,
        )
    user = find_user(email)
    if user is None:
        password_ok = _spend_a_password_check(password or "")
    else:  # checked even for a deactivated user: the timing tells no account state apart
        password_ok = user.check_password(password or "")
    if user is None or not password_ok or not user.active:
        throttle.record_failure(email, client)
        return SignIn(None, "Wrong email or password.")
    if technician and not user.is_technician:
        return SignIn(None, "Only technicians can sign in on a device.")
    if not technician and user.is_technician:
        return SignIn(None, "Technicians use the mobile app; the portal is for office staff.")
    throttle.record_success(email, client)
    return SignIn(user)


# --- ending sessions ---------------------------------------------------------------------


def end_sessions(user: User) -> None:
    """End every portal session, remember cookie and open live page of ``user``."""
    user.end_sessions()
    after_commit(realtime.disconnect_user, user.id)


def change_password(user: User, password: str) -> None:
    """Set a new password; every session of the user ends, and a technician's devices too.

    The caller signs the person who made the change in again if they should stay signed in.
    """
    if len(password or "") < 8:
        raise AccountError("The password needs at least 8 characters.", "password")
    user.set_password(password)
    end_sessions(user)
    _revoke_devices(user)


def set_active(user: User, active: bool) -> None:
    """Deactivate (or reactivate) a user; deactivation ends their sessions and devices.

    A deactivated technician's phones lose their sign-in and push token, so no push about
    someone else's job wakes a phone that left the company. Reactivation restores nothing:
    the person signs in again.
    """
    user.active = bool(active)
    if not active:
        end_sessions(user)
        _revoke_devices(user)


def _revoke_devices(user: User) -> None:
    from portal.domain import devices

    for device in db.session.scalars(select(Device).where(Device.user_id == user.id)):
        devices.revoke(device)
