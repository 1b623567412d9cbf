"""The device API's fixtures serve the sync tests too."""

from tests.api.conftest import dispatcher, make_job, sign_in  # noqa: F401
