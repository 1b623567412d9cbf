"""Security tests use the device fixtures of the API tests and the portal's own."""

from tests.api.conftest import _no_settle, dispatcher, make_job, sign_in  # noqa: F401
