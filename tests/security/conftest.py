"""Security tests use the device fixtures of the API tests, and browsers that share nothing."""

from __future__ import annotations

import contextvars

import pytest
from flask.testing import FlaskClient

from tests.api.conftest import dispatcher, make_job, sign_in  # noqa: F401
from tests.conftest import PortalClient


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in an app context of its own, as in production.

    The plain test client reuses the test's app context, so ``g`` (Flask-Login's user,
    Flask-WTF's token) leaks from one client's request into another's: two browsers would
    look like one. Requests here start from an empty context instead.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def browser(app, db):
    """Return a factory of fresh browsers (own cookies, own request contexts)."""

    def make() -> PortalClient:
        db.session.expire_all()
        return PortalClient(IsolatedClient(app, app.response_class, use_cookies=True))

    return make


@pytest.fixture
def strict_page(_browser, app, live_server):
    """A browser tab that enforces the pages' Content-Security-Policy (no bypass), and collects
    every violation into ``window.__csp``. Wait on selectors here: Playwright's
    ``wait_for_function`` needs eval, which the policy forbids."""
    context = _browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(10_000)
    context.add_init_script(COLLECT_VIOLATIONS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda m: errors.append(m.text) if "Security Policy" in m.text else None)
    yield tab
    context.close()
    assert not errors, f"JavaScript or CSP errors on the page: {errors}"


COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + e.blockedURI + " " + (e.sample || ""));
});
"""
