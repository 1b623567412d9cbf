"""Statement-count fixtures: the device API's signed-in phones and jobs, and a SQL counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.api.conftest import dispatcher, make_job, sign_in  # noqa: F401
from tests.inbox.conftest import technician_with_device


class Statements(list):
    """The SQL statements one block sent, without BEGIN (SQLite only) and the cached zone read."""

    def touching(self, table: str) -> list[str]:
        return [s for s in self if table in s]


@pytest.fixture
def statements(db):
    """``with statements() as seen:`` collects what the block sends to the database."""

    @contextmanager
    def count() -> Iterator[Statements]:
        seen = Statements()

        def listener(_conn, _cursor, statement, *_args) -> None:
            # BEGIN is sent as a statement on SQLite only; the company's zone is read once
            # per process every few seconds, whichever request happens to come then.
            if statement != "BEGIN" and "company_settings" not in statement:
                seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            yield seen
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)

    return count


@pytest.fixture
def inbox_technician(make_user, db):
    """A technician with every right and one device."""
    return technician_with_device(make_user, db)


@pytest.fixture
def inbox_job(db, dispatcher):  # noqa: F811 (the API's dispatcher fixture)
    """Create a job assigned to a technician (status ``assigned``)."""
    from portal.domain import jobs as job_ops

    def make(assignee):
        actor = job_ops.Actor.portal(dispatcher)
        job = job_ops.create({"title": "Fix the boiler"}, actor)
        job_ops.assign(job, assignee, actor)
        db.session.commit()
        return job

    return make
