"""Statement-count fixtures: the device API's signed-in phones and jobs (``statements`` is
shared, in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.api.conftest import dispatcher, make_job, sign_in  # noqa: F401
from tests.inbox.conftest import technician_with_device


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
