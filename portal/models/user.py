"""People: portal users and technicians, and their rights."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime
from enum import Enum

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from portal.models.base import Model, UTCDateTime, utcnow


class Role(str, Enum):
    TECHNICIAN = "technician"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"
    SUPPORT = "support"

    @property
    def rank(self) -> int:
        """Return the portal rank: technician < dispatcher < admin < support."""
        return _RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANK = {Role.TECHNICIAN: 0, Role.DISPATCHER: 1, Role.ADMIN: 2, Role.SUPPORT: 3}


class Right(str, Enum):
    """What a technician may do from the device (configuration, edited by admins)."""

    CHANGE_STATUS = "change_status"
    EDIT_REPORT = "edit_report"
    UPLOAD_PHOTOS = "upload_photos"
    ADD_NOTES = "add_notes"


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(20), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # The person's own IANA time zone and date format locale; None follows the company's
    # zone and the browser's language.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    locale: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of every portal session and remember cookie (see get_id): replacing it ends them all.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)

    rights: Mapped[list[TechnicianRight]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_technician(self) -> bool:
        return self.role == Role.TECHNICIAN.value

    @property
    def display_name(self) -> str:
        return self.name or self.email

    @property
    def is_active(self) -> bool:  # flask-login
        return bool(self.active)

    def get_id(self) -> str:  # flask-login: what the session and the remember cookie carry
        return f"{self.id}:{self.session_token}"

    def holds_session(self, token: str) -> bool:
        """Tell whether ``token`` is this user's current session token (in constant time)."""
        return hmac.compare_digest(self.session_token.encode(), (token or "").encode())

    def end_sessions(self) -> None:
        """Invalidate every session and remember cookie of this user, wherever they are."""
        self.session_token = new_session_token()

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_right(self, right: Right | str) -> bool:
        value = right.value if isinstance(right, Right) else right
        return any(r.right == value for r in self.rights)


class TechnicianRight(Model):
    __tablename__ = "technician_rights"
    __table_args__ = (UniqueConstraint("user_id", "right", name="uq_technician_rights_user_right"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    right: Mapped[str] = mapped_column(String(40))

    user: Mapped[User] = relationship(back_populates="rights")


class LoginThrottle(Model):
    """Failed sign-ins per key, as counted before they moved to Redis (``domain.throttle``).

    Nothing writes this table any more. It stays, empty, while retention and the status page
    still read it; a later migration drops it together with those readers.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
