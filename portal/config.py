"""Every setting in one place: read from the environment, checked, with its only default.

Each :class:`Setting` names an environment variable, its type, its default and its allowed
range. :func:`load` reads them all at start-up (an unset or empty variable takes the default);
:func:`check` validates the final configuration again after ``instance/config.py`` and a
caller's overrides were applied, so a bad value stops start-up with a message naming the
setting instead of failing later, or never. The README's settings table is checked against
:data:`SETTINGS` by a test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import limits


class SettingError(RuntimeError):
    """A setting has a value it cannot take; the message names the setting."""


@dataclass(frozen=True)
class Setting:
    """One setting: its variable, type, default and range."""

    name: str
    kind: type  # int, float, str or bool (a flag: "1" is on)
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    # Extra check on a parsed value: returns the value (possibly normalised) or raises
    # ValueError whose text says what the setting takes.
    check: Callable[[Any], Any] | None = None
    # The default depends on the instance folder (paths, the database, the secret key).
    per_instance: bool = False
    # The configuration key, where Flask or an extension reads it under another name.
    key: str | None = None

    @property
    def config_key(self) -> str:
        return self.key or self.name

    def parse(self, raw: Any) -> Any:
        """Return ``raw`` (text from the environment, or a Python value) checked and typed."""
        try:
            value = _convert(self.kind, raw)
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"at least {self.minimum:g}")
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"at most {self.maximum:g}")
            if self.check is not None:
                value = self.check(value)
        except ValueError as exc:
            raise SettingError(f"Setting {self.name} must be {exc}, got {raw!r}") from None
        return value


def _convert(kind: type, raw: Any) -> Any:
    """Convert text or a Python value to ``kind``; ValueError says what ``kind`` takes."""
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip() in ("", "0", "1"):
            return raw.strip() == "1"
        raise ValueError("1 (on) or 0 (off)")
    if kind in (int, float) and not isinstance(raw, bool):
        what = "a whole number" if kind is int else "a number"
        if isinstance(raw, int | float | str):
            try:
                return kind(raw.strip() if isinstance(raw, str) else raw)
            except ValueError:
                pass
        raise ValueError(what)
    if kind is str and not isinstance(raw, str):
        raise ValueError("text")
    return raw


def _zone(value: str) -> str:
    """Accept an IANA time zone name."""
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("an IANA time zone name such as Europe/Amsterdam") from None
    return value.strip()


def _rate(value: str) -> str:
    """Accept a rate such as '30 per minute' (several separated by ';')."""
    try:
        limits.parse_many(value)
    except ValueError:
        raise ValueError("a rate like '30 per minute'") from None
    return value


def _origins(value: Any) -> list[str] | None:
    """Accept origins (``https://host[:port]``), comma-separated or as a list; None when empty."""
    items = value.split(",") if isinstance(value, str) else list(value)
    origins = [o.strip().rstrip("/") for o in items if o.strip()]
    for origin in origins:
        scheme, sep, host = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not host or "/" in host:
            raise ValueError(f"origins like https://portal.example.com (not {origin!r})")
    return origins or None


def _level(value: str) -> str:
    """Accept a logging level name."""
    name = value.strip().upper()
    if name not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ValueError("one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
    return name


def _log_format(value: str) -> str:
    """Accept a log line format."""
    name = value.strip().lower()
    if name not in ("text", "json"):
        raise ValueError("text or json")
    return name


def _database_url(value: str) -> str:
    """Accept a SQLAlchemy URL; Heroku-style ``postgres://`` is renamed (SQLAlchemy refuses it)."""
    if value.startswith("postgres://"):
        return "postgresql://" + value[len("postgres://") :]
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        str,
        None,
        check=_database_url,
        per_instance=True,
        key="SQLALCHEMY_DATABASE_URI",
    ),
    Setting("REDIS_URL", str, "redis://localhost:6379/0"),
    Setting("SECRET_KEY", str, None, per_instance=True),
    Setting("FCM_CREDENTIALS", str, None),
    Setting("FCM_ENDPOINT", str, "https://fcm.googleapis.com/v1/projects"),
    # The module that gets the technician app's web push token (README, "Web push").
    Setting("TECHNICIAN_PUSH_PROVIDER", str, None),
    Setting("INBOX_RETRY_MINUTES", int, 5, minimum=1),
    Setting("INBOX_RETENTION_DAYS", int, 7, minimum=1),
    Setting("INBOX_LOCK_SECONDS", int, 30, minimum=1),
    # An action still waiting (queued, held, processing) or a photo still on its way after
    # this long shows as overdue on the status page and in the inbox filter.
    Setting("INBOX_OVERDUE_MINUTES", int, 60, minimum=1),
    Setting("SYNC_FEED_RETENTION_DAYS", int, 30, minimum=1),
    Setting("PUSH_LOG_RETENTION_DAYS", int, 30, minimum=1),
    Setting("PUSH_COALESCE_SECONDS", float, 2.0, minimum=0, maximum=3600),
    Setting("PUSH_MAX_ATTEMPTS", int, 5, minimum=1),
    Setting("PUSH_RETRY_BASE_SECONDS", float, 5.0, minimum=0),
    Setting("PUSH_RETRY_MAX_SECONDS", float, 300.0, minimum=0),
    Setting("PUSH_RETRY_AFTER_MAX_SECONDS", float, 3600.0, minimum=0),
    Setting("FIELDSYNC_TIMEZONE", str, "UTC", check=_zone),
    Setting("FILES_DIR", str, None, per_instance=True),
    Setting("MAX_UPLOAD_MB", int, 25, minimum=1),
    Setting("ATTACHMENT_MAX_MB", int, 20, minimum=1),
    Setting("PHOTO_MAX_BYTES", int, 20 * 1024 * 1024, minimum=1),
    Setting("LOGIN_MAX_FAILURES", int, 5, minimum=1),
    Setting("LOGIN_ACCOUNT_MAX_FAILURES", int, 20, minimum=1),
    Setting("LOGIN_CLIENT_MAX_FAILURES", int, 20, minimum=1),
    Setting("LOGIN_LOCKOUT_SECONDS", int, 300, minimum=1),
    Setting("LOGIN_RATE_LIMIT", str, "30 per minute", check=_rate),
    Setting("REMEMBER_DAYS", int, 30, minimum=1),
    Setting("SESSION_COOKIE_SECURE", bool, False),
    Setting("PROXY_COUNT", int, 0, minimum=0),
    Setting("SOCKETIO_ALLOWED_ORIGINS", list, None, check=_origins),
    Setting("DEVICE_TOKEN_IDLE_DAYS", int, 90, minimum=1),
    Setting("DB_POOL_PRE_PING", bool, False),
    Setting("LOG_LEVEL", str, "INFO", check=_level),
    Setting("LOG_FORMAT", str, "text", check=_log_format),
)
# Read before the others, to find the instance folder itself.
INSTANCE_VARIABLE = "FIELDSYNC_INSTANCE"


def instance_path(root: str) -> str:
    """Return the instance folder: FIELDSYNC_INSTANCE, else ``instance/`` beside the code."""
    return os.environ.get(INSTANCE_VARIABLE) or os.path.join(root, "instance")


def _secret_key(instance: Path) -> str:
    """Return a key generated once into ``instance/secret_key``."""
    key_file = instance / "secret_key"
    if not key_file.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # Create with 0600 atomically so two processes starting at once cannot race.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def _instance_default(name: str, instance: Path) -> str:
    if name == "DATABASE_URL":
        return f"sqlite:///{instance / 'fieldsync.db'}"
    if name == "FILES_DIR":
        return str(instance / "files")
    return _secret_key(instance)


def load(instance: str) -> dict[str, Any]:
    """Read every setting from the environment; raise SettingError naming a bad one."""
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = os.environ.get(setting.name)
        if raw is None or not raw.strip():
            if not setting.per_instance:
                values[setting.config_key] = setting.default
                continue
            raw = _instance_default(setting.name, Path(instance))
        values[setting.config_key] = setting.parse(raw)
    return derive(values)


def derive(values: dict[str, Any]) -> dict[str, Any]:
    """Return the Flask and extension keys that follow from the settings."""
    secure = bool(values["SESSION_COOKIE_SECURE"])
    return {
        **values,
        "MAX_CONTENT_LENGTH": values["MAX_UPLOAD_MB"] * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": timedelta(days=values["REMEMBER_DAYS"]),
        "WTF_CSRF_TIME_LIMIT": None,
        # No pre-ping: it costs a round trip on every request, a fifth of a device's pull.
        # After a database restart SQLAlchemy refreshes the pool on the first error it sees;
        # recycling bounds how long an idle connection is trusted. DB_POOL_PRE_PING=1 trades
        # that round trip for never seeing a stale connection.
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": bool(values["DB_POOL_PRE_PING"]),
            "pool_recycle": 1800,
        },
    }


def check(config: MutableMapping[str, Any]) -> None:
    """Validate the final configuration in place (after instance config and overrides)."""
    for setting in SETTINGS:
        if config.get(setting.config_key) is not None:
            config[setting.config_key] = setting.parse(config[setting.config_key])
    if config.get("SESSION_COOKIE_SECURE"):  # however it was set, the remember cookie follows
        config["REMEMBER_COOKIE_SECURE"] = True
