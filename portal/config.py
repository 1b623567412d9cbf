"""Settings from the environment (and an optional ``instance/config.py``)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import limits


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"Setting {name} must be a whole number, got {raw!r}") from exc


def _zone(name: str, default: str) -> str:
    """Return an IANA time zone name from the environment, checked against the zone database."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuntimeError(
            f"Setting {name} must be an IANA time zone name such as Europe/Amsterdam, got {raw!r}"
        ) from None
    return raw


def _rate(name: str, default: str) -> str:
    """Read a rate such as '30 per minute' (several separated by ';')."""
    raw = os.environ.get(name) or default
    try:
        limits.parse_many(raw)
    except ValueError as exc:
        raise RuntimeError(
            f"Setting {name} must be a rate like '30 per minute', got {raw!r}"
        ) from exc
    return raw


def _origins(raw: str | None) -> list[str] | None:
    """Parse a comma-separated list of origins (``https://host[:port]``); None when unset."""
    if not raw or not raw.strip():
        return None
    origins = [o.strip().rstrip("/") for o in raw.split(",") if o.strip()]
    for origin in origins:
        scheme, sep, host = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not host or "/" in host:
            raise RuntimeError(
                f"Setting SOCKETIO_ALLOWED_ORIGINS takes origins like https://portal.example.com,"
                f" got {origin!r}"
            )
    return origins


def _secret_key(instance_path: Path) -> str:
    """Return SECRET_KEY from the environment, or one generated once into ``instance/``."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        # Create with 0600 atomically so two processes starting at once cannot race.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


def load(instance_path: str) -> dict:
    """Build the configuration mapping from the environment."""
    inst = Path(instance_path)
    db_url = os.environ.get("DATABASE_URL") or f"sqlite:///{inst / 'fieldsync.db'}"
    # Heroku-style URLs name the scheme "postgres", which SQLAlchemy no longer accepts.
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://") :]
    secure = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
    return {
        "SECRET_KEY": _secret_key(inst),
        "SQLALCHEMY_DATABASE_URI": db_url,
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://localhost:6379/0",
        "FCM_CREDENTIALS": os.environ.get("FCM_CREDENTIALS") or None,
        "FCM_ENDPOINT": os.environ.get("FCM_ENDPOINT") or "https://fcm.googleapis.com/v1/projects",
        # The module that gets the technician app's web push token (README, "Web push").
        "TECHNICIAN_PUSH_PROVIDER": os.environ.get("TECHNICIAN_PUSH_PROVIDER") or None,
        "INBOX_RETRY_MINUTES": _int("INBOX_RETRY_MINUTES", 5),
        "INBOX_RETENTION_DAYS": _int("INBOX_RETENTION_DAYS", 7),
        # An action still waiting (queued, held, processing) or a photo still on its way
        # after this long shows as overdue on the status page and in the inbox filter.
        "INBOX_OVERDUE_MINUTES": _int("INBOX_OVERDUE_MINUTES", 60),
        # Older feed entries are deleted; a cursor from before them gets 410 cursor_expired.
        "SYNC_FEED_RETENTION_DAYS": _int("SYNC_FEED_RETENTION_DAYS", 30),
        "PUSH_LOG_RETENTION_DAYS": _int("PUSH_LOG_RETENTION_DAYS", 30),
        # How long a worker may hold a job line without renewing (a killed one loses it).
        "INBOX_LOCK_SECONDS": _int("INBOX_LOCK_SECONDS", 30),
        "PUSH_COALESCE_SECONDS": float(os.environ.get("PUSH_COALESCE_SECONDS") or 2),
        # The company's zone until an admin sets one in the portal.
        "FIELDSYNC_TIMEZONE": _zone("FIELDSYNC_TIMEZONE", "UTC"),
        "FILES_DIR": os.environ.get("FILES_DIR") or str(inst / "files"),
        "MAX_CONTENT_LENGTH": _int("MAX_UPLOAD_MB", 25) * 1024 * 1024,
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_ACCOUNT_MAX_FAILURES": _int("LOGIN_ACCOUNT_MAX_FAILURES", 20),
        "LOGIN_CLIENT_MAX_FAILURES": _int("LOGIN_CLIENT_MAX_FAILURES", 20),
        "LOGIN_LOCKOUT_SECONDS": _int("LOGIN_LOCKOUT_SECONDS", 300),
        "LOGIN_RATE_LIMIT": _rate("LOGIN_RATE_LIMIT", "30 per minute"),
        "PROXY_COUNT": _int("PROXY_COUNT", 0),
        "SOCKETIO_ALLOWED_ORIGINS": _origins(os.environ.get("SOCKETIO_ALLOWED_ORIGINS")),
        "DEVICE_TOKEN_IDLE_DAYS": _int("DEVICE_TOKEN_IDLE_DAYS", 90),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_DURATION": timedelta(days=_int("REMEMBER_DAYS", 30)),
        "WTF_CSRF_TIME_LIMIT": None,
        # No pre-ping: it costs a round trip on every request, a fifth of a device's pull.
        # After a database restart SQLAlchemy refreshes the pool on the first error it sees;
        # recycling bounds how long an idle connection is trusted. DB_POOL_PRE_PING=1 trades
        # that round trip for never seeing a stale connection.
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": os.environ.get("DB_POOL_PRE_PING", "") == "1",
            "pool_recycle": 1800,
        },
    }
