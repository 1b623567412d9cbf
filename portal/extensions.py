"""Flask extensions, created bare and bound in ``create_app``."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import redis
from flask import current_app, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Named constraints so Alembic migrations are identical on SQLite and PostgreSQL.
naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
socketio = SocketIO()


def client_address() -> str:
    """Return the client's address (behind ``PROXY_COUNT`` proxies, the one they forwarded)."""
    return request.remote_addr or "unknown"


class Throttle(Limiter):
    """Flask-Limiter, whose check before every request can be left out where none applies.

    Before each request it looks for the route's default, application and blueprint
    limits. The portal has none of those (its limits sit on the sign-in routes, whose
    decorators check them), and for a device's empty pull the search costs a sixth of the
    answer: a blueprint of many, cheap requests names itself with :meth:`skip_middleware`.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._skipped: set[str] = set()

    def skip_middleware(self, blueprint: str) -> None:
        """Leave ``blueprint``'s requests to their routes' own limits."""
        self._skipped.add(blueprint)

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if in_middleware and request.blueprint in self._skipped:
            return
        super()._check_request_limit(callable_name, in_middleware)


# Throttling on Redis (RATELIMIT_STORAGE_URI, set from REDIS_URL): the sign-in routes' request
# rate per address, and the failed sign-in counters of ``portal.domain.throttle``.
limiter = Throttle(
    key_func=client_address,
    strategy="moving-window",
    headers_enabled=True,
    swallow_errors=True,
    key_prefix="fieldsync",
)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """Let the web server and workers share one SQLite file: WAL plus a busy timeout."""
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
        # Take pysqlite's own transaction handling away so "begin" below decides.
        dbapi_conn.isolation_level = None


# An execution option for a request that only reads and whose reads need no common
# snapshot (a device's GET: the token row, then the feed above a position that only grows):
# on SQLite no BEGIN is sent, as PostgreSQL runs the same reads in autocommit.
READ_ONLY = "fieldsync_read_only"


def read_connection() -> Any:
    """Return the session's connection, without a transaction if none is open yet.

    For reads that need no common snapshot (a device's pull: the token row, then the feed
    above a position that only grows, then the jobs as they are now): sparing BEGIN and
    ROLLBACK is a large share of such a request. PostgreSQL reads in autocommit; SQLite
    sends no BEGIN (``READ_ONLY``). Once a transaction is open, it is simply its connection.
    """
    if db.session().in_transaction():
        return db.session.connection()
    if db.engine.dialect.name == "postgresql":
        return db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return db.session.connection(execution_options={READ_ONLY: True})


# Set by code that is about to write (a POST request, a worker task, a writing command).
sqlite_writer: ContextVar[bool] = ContextVar("sqlite_writer", default=False)


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn) -> None:
    """Start a writer's SQLite transactions IMMEDIATE, everyone else's deferred.

    In WAL mode a deferred transaction that read a snapshot and then tries to write after
    another process committed fails at once with SQLITE_BUSY; a writer that takes the write
    lock up front waits on the busy timeout instead. Readers stay deferred so they never hold
    the write lock. PostgreSQL is untouched.
    """
    if conn.dialect.name != "sqlite":
        return
    if conn.get_execution_options().get(READ_ONLY):
        return  # each statement reads in its own implicit transaction (see READ_ONLY)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if sqlite_writer.get() else "BEGIN")


def get_redis() -> redis.Redis:
    """Return the app's shared Redis client (one connection pool per process)."""
    ext = current_app.extensions
    client = ext.get("fieldsync_redis")
    if client is None:
        client = redis.Redis.from_url(current_app.config["REDIS_URL"])
        ext["fieldsync_redis"] = client
    return client
