"""Count the SQL statements a block of code sends, as the database driver receives them.

On PostgreSQL every statement goes through a cursor of a pooled connection, SQLAlchemy's
and the device API's direct token read alike (``portal.integrations.direct_read``, which has
a pool of its own), so a counting cursor class is put on each connection checked out of any
pool during the block. On SQLite
SQLAlchemy's own statement event sees everything. BEGIN (a statement on SQLite only) and the
company zone's read (cached per process for a few seconds, so whichever request comes then
pays it) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool


class Statements(list):
    """The SQL statements one block sent."""

    def touching(self, table: str) -> list[str]:
        return [s for s in self if table in s]


def _keep(seen: Statements, statement: Any) -> None:
    text = statement if isinstance(statement, str) else str(statement)
    if text != "BEGIN" and "company_settings" not in text:
        seen.append(text)


@contextmanager
def counting(engine: Engine) -> Iterator[Statements]:
    """``with counting(engine) as seen:`` collects what the block sends to the database."""
    seen = Statements()
    if engine.dialect.name != "postgresql":

        def listener(_conn, _cursor, statement, *_args) -> None:
            _keep(seen, statement)

        event.listen(engine, "before_cursor_execute", listener)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return

    import psycopg

    class Counting(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):
            _keep(seen, query)
            return super().execute(query, params, **kwargs)

        def executemany(self, query, params_seq, **kwargs):
            _keep(seen, query)
            return super().executemany(query, params_seq, **kwargs)

    def checkout(dbapi_conn, _record, _proxy) -> None:
        dbapi_conn.cursor_factory = Counting

    def checkin(dbapi_conn, _record) -> None:
        if dbapi_conn is not None:
            dbapi_conn.cursor_factory = psycopg.Cursor

    # Every pool: the direct token read has a small pool of its own beside the engine's.
    event.listen(Pool, "checkout", checkout)
    event.listen(Pool, "checkin", checkin)
    try:
        yield seen
    finally:
        event.remove(Pool, "checkout", checkout)
        event.remove(Pool, "checkin", checkin)
