"""What every API route shares: bearer-token auth, JSON errors, input readers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import bindparam, select, update
from werkzeug.exceptions import HTTPException

from portal.domain import devices, jsonsafe
from portal.domain.errors import AuthorizationError, ConflictError, DomainError
from portal.domain.inbox.store import storable_text
from portal.extensions import db, read_connection, sqlite_writer
from portal.integrations.direct_read import DirectRead
from portal.models import Device, Role, SyncPosition, User, utcnow

F = TypeVar("F", bound=Callable)

# last_seen_at is written at most this often per device: not a write per request.
SEEN_EVERY = timedelta(minutes=1)
# A request body above this is refused (413) before it is read, unless the view allows more.
JSON_MAX_BYTES = 64 * 1024


class ApiError(Exception):
    """An answer with a 4xx status and the JSON body ``{error, message, field?}``."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        field: str | None = None,
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.field, self.headers = field, headers or {}


def error_response(
    status: int, error: str, message: str, field: str | None = None, headers: dict | None = None
) -> Response:
    body: dict[str, Any] = {"error": error, "message": message}
    if field:
        body["field"] = field
    resp = jsonify(body)
    resp.status_code = status
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


def body_limit(limit: int | Callable[[], int]) -> Callable[[F], F]:
    """Let a view accept bodies up to ``limit`` bytes (a number, or a function of the config)."""

    def mark(view: F) -> F:
        view._api_body_limit = limit  # type: ignore[attr-defined]
        return view

    return mark


def _limit_body() -> None:
    """Hold every request to its view's body limit, so a 413 comes before the body is read."""
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "_api_body_limit", None)
    if limit is None:
        configured = current_app.config.get("MAX_CONTENT_LENGTH")
        limit = min(JSON_MAX_BYTES, configured) if configured else JSON_MAX_BYTES
    request.max_content_length = limit() if callable(limit) else limit


def anonymous(view: F) -> F:
    """Let a view of this blueprint run without a device token (sign-in, the schema)."""
    view._api_anonymous = True  # type: ignore[attr-defined]
    return view


@dataclass(frozen=True)
class DeviceRef:
    """The signed-in device as one joined row: enough for a pull without loading objects."""

    id: int
    user_id: int
    last_seen_at: datetime | None
    last_sync_at: datetime | None
    unsent_count: int | None
    network: str | None
    # The technician's last feed position when the token was checked (0 before any entry):
    # a pull whose cursor is at it has nothing to read, and reads nothing more.
    feed_position: int = 0


def device_ref() -> DeviceRef:
    return g.api_device_ref


def current_device() -> Device:
    """Return the signed-in device as a model object (loaded on first use)."""
    device = g.get("api_device")
    if device is None:
        device = g.api_device = db.session.get(Device, g.api_device_ref.id)
    return device


def current_technician() -> User:
    """Return the signed-in technician as a model object (loaded on first use)."""
    user = g.get("api_technician")
    if user is None:
        user = g.api_technician = db.session.get(User, g.api_device_ref.user_id)
    return user


_AUTH_QUERY = (
    select(
        Device.id,
        Device.user_id,
        Device.revoked_at,
        Device.last_seen_at,
        Device.last_sync_at,
        Device.unsent_count,
        Device.network,
        User.active,
        User.role,
        SyncPosition.position,
    )
    .join(User, User.id == Device.user_id)
    .outerjoin(SyncPosition, SyncPosition.technician_id == Device.user_id)
    .where(Device.token_hash == bindparam("token_hash"))
)


# A GET's token check on PostgreSQL, where SQLAlchemy's own work costs more than the read.
_AUTH_READ = DirectRead(_AUTH_QUERY)


def _read_connection():
    """Return the session's connection: without a transaction for a GET (it only reads)."""
    return read_connection() if request.method == "GET" else db.session.connection()


def authenticate(token: str) -> DeviceRef | None:
    """Return the device of a live token, or None: the rules of ``devices.authenticate``.

    One joined row through the core instead of two ORM loads: every phone calls this every
    two minutes, so it is the cost floor of the whole API. The row carries the technician's
    feed counter too, so that an empty pull needs no second query.
    """
    token_hash = devices.hash_token(token)
    if (
        request.method == "GET"
        and db.engine.dialect.name == "postgresql"
        and not (db.session.registry.has() and db.session().in_transaction())
    ):
        row = _AUTH_READ.first(db.engine, token_hash=token_hash)
    else:
        row = _read_connection().execute(_AUTH_QUERY, {"token_hash": token_hash}).first()
    if row is None or row.revoked_at is not None or not row.active:
        return None
    if row.role != Role.TECHNICIAN.value:  # a former technician's phone is shut out
        return None
    idle = timedelta(days=current_app.config["DEVICE_TOKEN_IDLE_DAYS"])
    if row.last_seen_at is not None and utcnow() - row.last_seen_at > idle:
        return None
    return DeviceRef(
        row.id,
        row.user_id,
        row.last_seen_at,
        row.last_sync_at,
        row.unsent_count,
        row.network,
        row.position or 0,
    )


@contextmanager
def writing() -> Iterator[None]:
    """Run a short write transaction after the request's reads (SQLite: write lock first)."""
    # End the read transaction so SQLite's writer starts from a fresh snapshot.
    db.session.commit()
    token = sqlite_writer.set(True)
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    finally:
        sqlite_writer.reset(token)


def _authenticate() -> Response | None:
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "_api_anonymous", False):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or "\x00" in token:
        return error_response(
            401,
            "unauthenticated",
            "Send the device token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    device = authenticate(token.strip())
    if device is None:
        return error_response(
            401,
            "invalid_token",
            "The device token is unknown, revoked or expired: sign in again.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    g.api_device_ref = device
    # Model objects load on first use; a test's app context may outlive one request.
    g.api_device = g.api_technician = None
    now = utcnow()
    if device.last_seen_at is None or now - device.last_seen_at >= SEEN_EVERY:
        stmt = update(Device).where(Device.id == device.id).values(last_seen_at=now)
        if request.method in ("GET", "HEAD"):
            with writing():
                db.session.execute(stmt)
        else:  # a writing request commits once, with this in it
            db.session.execute(stmt)
    return None


def _api_error(exc: ApiError) -> Response:
    db.session.rollback()
    return error_response(exc.status, exc.error, exc.message, exc.field, exc.headers)


def _domain_error(exc: DomainError) -> Response:
    db.session.rollback()
    if isinstance(exc, AuthorizationError):
        return error_response(403, "forbidden", exc.message, exc.field)
    if isinstance(exc, ConflictError):
        return error_response(409, "conflict", exc.message, exc.field)
    return error_response(422, exc.category.value, exc.message, exc.field)


def _http_error(exc: HTTPException) -> Response:
    db.session.rollback()
    code = exc.code or 500
    name = (exc.name or "error").lower().replace(" ", "_")
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    message = exc.description or name
    if code == 413:
        message = "The request body is too large."
    elif code == 429:
        message = "Too many requests from this address; wait as Retry-After says, then retry."
    return error_response(code, name, message, headers=headers)


def init_blueprint(bp: Blueprint) -> None:
    """Hook token auth and the JSON error answers into the API blueprint."""
    bp.before_request(_limit_body)
    bp.before_request(_authenticate)
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(DomainError, _domain_error)
    bp.register_error_handler(HTTPException, _http_error)


# --- reading input -------------------------------------------------------------------------


def json_body() -> dict:
    """Return the request's JSON object, or answer 400 (malformed, too deep), 413 or 415."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        data = jsonsafe.loads(request.get_data(cache=True))
    except jsonsafe.JsonError as exc:
        raise ApiError(400, exc.code, exc.message) from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed", "The body must be a JSON object.")
    return data


def text(
    data: dict, name: str, max_len: int, required: bool = True, allow_empty: bool = False
) -> str | None:
    """Read a string field: present (if required), not too long, no NUL characters."""
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(422, "missing", f"'{name}' is required.", name)
        return None
    if not isinstance(value, str):
        raise ApiError(422, "invalid", f"'{name}' must be a string.", name)
    if not storable_text(value):
        raise ApiError(422, "invalid", f"'{name}' holds NUL or invalid characters.", name)
    if len(value) > max_len:
        raise ApiError(422, "invalid", f"'{name}' has at most {max_len} characters.", name)
    if required and not allow_empty and not value.strip():
        raise ApiError(422, "missing", f"'{name}' must not be empty.", name)
    return value
