"""Administration of users: create, rename, change role, (de)activate, reset, revoke phones.

Every change is written to ``UserAudit`` in the same transaction, naming who made it (None
for the command line). An administrator manages only users below their own role and never
themselves, so nobody can lock out or promote someone of their own rank; the command line
manages everyone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.domain import accounts, devices
from portal.domain.accounts import AccountError
from portal.extensions import db
from portal.models import Device, Right, Role, TechnicianRight, User, UserAudit


class NotAllowed(PermissionError):
    """The administrator may not manage this user, or not give this role."""


def audit(
    user: User,
    actor: User | None,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
) -> UserAudit:
    """Record one change to ``user`` by ``actor``."""
    row = UserAudit(
        user_id=user.id,
        actor_id=actor.id if actor else None,
        action=action,
        before=before,
        after=after,
        note=note,
    )
    db.session.add(row)
    return row


def assignable_roles(actor: User | None) -> list[Role]:
    """Return the roles ``actor`` may give: those below their own (every role on the CLI)."""
    if actor is None:
        return list(Role)
    return [role for role in Role if role.rank < actor.role_enum.rank]


def may_manage(actor: User | None, user: User) -> bool:
    """Tell whether ``actor`` may change ``user``: below their own role, and not themselves."""
    if actor is None:
        return True
    return user.id != actor.id and user.role_enum.rank < actor.role_enum.rank


def _check(actor: User | None, user: User) -> None:
    if not may_manage(actor, user):
        raise NotAllowed("You may only manage users below your own role, and not yourself.")


def _role(actor: User | None, value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise AccountError(f"Unknown role '{value}'. Choose one of: {known}.", "role") from None
    if role not in assignable_roles(actor):
        raise AccountError(f"You may not give the role {role.value}.", "role")
    return role


def create(actor: User | None, email: str, role: str, password: str, name: str = "") -> User:
    """Add a user or technician (technicians get every right) and record who did."""
    _role(actor, role)
    if len((name or "").strip()) > 120:
        raise AccountError("Give a name of at most 120 characters.", "name")
    try:
        # A savepoint: two admins adding the same email at once meet at the unique index.
        with db.session.begin_nested():
            user = accounts.create_user(email, role, password, name)
    except IntegrityError:
        email = accounts.normalize_email(email)
        raise AccountError(f"A user with the email {email} already exists.", "email") from None
    audit(user, actor, "created", after={"email": user.email, "role": user.role, "name": user.name})
    return user


def update(actor: User | None, user: User, name: str, role: str, seen_role: str = "") -> None:
    """Rename ``user`` and change their role; a change leaves nothing of the old role behind.

    ``seen_role`` is the role the form showed: when another administrator changed it
    meanwhile, the change is refused rather than silently overwriting theirs.
    A technician who becomes office staff loses their phones' sign-in; anyone moving to or
    from technician is signed out, because the portal and the phones admit different roles.
    """
    _check(actor, user)
    if seen_role and seen_role != user.role:
        raise AccountError(
            f"Someone else changed the role to {user.role} meanwhile. Review it and save again.",
            "role",
        )
    name = (name or "").strip()
    if len(name) > 120:
        raise AccountError("Give a name of at most 120 characters.", "name")
    new_role = _role(actor, role)
    if name != user.name:
        audit(user, actor, "renamed", {"name": user.name}, {"name": name})
        user.name = name
    if new_role.value == user.role:
        return
    was_technician = user.is_technician
    audit(user, actor, "role", {"role": user.role}, {"role": new_role.value})
    user.role = new_role.value
    if was_technician != user.is_technician:
        accounts.end_sessions(user)
    if was_technician and not user.is_technician:
        _revoke_all(user)
    if user.is_technician and not user.rights:
        for right in Right:
            user.rights.append(TechnicianRight(right=right.value))


def reset_password(actor: User | None, user: User, password: str) -> None:
    """Set a new password; the user is signed out everywhere, a technician's phones too."""
    _check(actor, user)
    live = len(_live_devices(user))
    accounts.change_password(user, password)
    note = f"signed out everywhere; {live} phone(s) signed out" if live else "signed out everywhere"
    audit(user, actor, "password", note=note)


def set_active(actor: User | None, user: User, active: bool) -> bool:
    """Deactivate or reactivate ``user``; return False when they already were so."""
    _check(actor, user)
    if bool(user.active) == bool(active):
        return False
    live = len(_live_devices(user))
    accounts.set_active(user, active)
    if active:
        audit(user, actor, "reactivated", {"active": False}, {"active": True})
    else:
        note = f"{live} phone(s) signed out" if live else ""
        audit(user, actor, "deactivated", {"active": True}, {"active": False}, note)
    return True


def revoke_devices(actor: User | None, user: User) -> int:
    """Sign every phone of ``user`` out (their tokens answer 401); return how many were live."""
    _check(actor, user)
    live = _revoke_all(user)
    if live:
        audit(user, actor, "devices revoked", note=", ".join(live))
    return len(live)


def revoke_device(actor: User | None, device: Device) -> None:
    """Sign one phone out; dispatchers may do this for any technician's phone."""
    if device.revoked_at is not None:
        return
    devices.revoke(device)
    audit(device.user, actor, "device revoked", note=_device_name(device))


def _live_devices(user: User) -> list[Device]:
    return list(
        db.session.scalars(
            select(Device)
            .where(Device.user_id == user.id, Device.revoked_at.is_(None))
            .order_by(Device.id)
        )
    )


def _revoke_all(user: User) -> list[str]:
    live = _live_devices(user)
    for device in live:
        devices.revoke(device)
    return [_device_name(d) for d in live]


def _device_name(device: Device) -> str:
    return f"{device.platform or 'device'} {device.device_id[:18]}"
