"""Sign-in: timing tells no email apart; failures are throttled per address and per account."""

from __future__ import annotations

import statistics
import time

import pytest


def _portal_attempt(browser, email, password, address):
    client = browser()
    return client.post_form(
        "/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def _api_attempt(app, email, password, address):
    return app.test_client().post(
        "/api/v1/auth/device",
        json={"email": email, "password": password, "device_id": "d1"},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture
def small_limits(app, monkeypatch):
    for key, value in {
        "LOGIN_MAX_FAILURES": 3,
        "LOGIN_ACCOUNT_MAX_FAILURES": 5,
        "LOGIN_CLIENT_MAX_FAILURES": 5,
    }.items():
        monkeypatch.setitem(app.config, key, value)


def _retry_after(resp) -> int:
    value = int(resp.headers["Retry-After"])
    assert 0 < value <= 300
    return value


def test_one_address_spraying_a_password_over_many_accounts_is_stopped(
    app, browser, make_user, small_limits
):
    victims = [make_user("dispatcher") for _ in range(6)]
    codes = [_portal_attempt(browser, v.email, "Summer2026!", "10.0.0.9").status_code
             for v in victims[:5]]  # fmt: skip

    blocked = _portal_attempt(browser, victims[5].email, "password123", "10.0.0.9")
    elsewhere = _portal_attempt(browser, victims[5].email, "password123", "10.0.0.10")
    api_blocked = _api_attempt(app, "tech@example.com", "x", "10.0.0.9")

    assert codes == [401] * 5
    assert blocked.status_code == 429 and _retry_after(blocked)
    assert "Too many failed sign-ins" in blocked.text
    assert elsewhere.status_code == 302
    assert api_blocked.status_code == 429 and _retry_after(api_blocked)
    assert api_blocked.get_json()["error"] == "throttled"


def test_guessing_one_account_from_many_addresses_is_stopped(app, browser, make_user, small_limits):
    tech = make_user("technician")
    codes = [
        _api_attempt(app, tech.email, f"guess-{i}", f"10.1.0.{i}").status_code for i in range(5)
    ]

    blocked = _api_attempt(app, tech.email, "password123", "10.1.0.99")
    other = make_user("technician")
    unaffected = _api_attempt(app, other.email, "password123", "10.1.0.99")

    assert codes == [401] * 5
    assert blocked.status_code == 429 and _retry_after(blocked)
    assert unaffected.status_code == 200


def test_a_success_forgets_the_accounts_failures_but_not_the_addresses(
    app, browser, make_user, small_limits
):
    mine, others = make_user("dispatcher"), [make_user("dispatcher") for _ in range(4)]
    for i in range(2):
        assert _portal_attempt(browser, mine.email, f"typo-{i}", "10.2.0.1").status_code == 401
    assert _portal_attempt(browser, mine.email, "password123", "10.2.0.1").status_code == 302
    # The account's failures are forgotten: two more typos do not lock it (limit 3)...
    for i in range(2):
        assert _portal_attempt(browser, mine.email, f"typo-{i}", "10.2.0.1").status_code == 401
    # ...but the address has used 4 of its 5 failures on any account, success or not.
    assert _portal_attempt(browser, others[0].email, "nope", "10.2.0.1").status_code == 401
    assert _portal_attempt(browser, others[1].email, "password123", "10.2.0.1").status_code == 429


def test_the_sign_in_request_rate_per_address_is_limited_with_retry_after(
    app, browser, make_user, monkeypatch
):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    user = make_user("dispatcher")
    portal = [_portal_attempt(browser, user.email, "password123", "10.3.0.1") for _ in range(4)]
    api = [_api_attempt(app, "t@example.com", "x", "10.3.0.2") for _ in range(4)]

    assert [r.status_code for r in portal] == [302, 302, 302, 429]
    assert [r.status_code for r in api[:3]] == [401, 401, 401]
    for resp in (portal[-1], api[-1]):
        assert resp.status_code == 429 and _retry_after(resp)
    assert set(api[-1].get_json()) >= {"error", "message"}
    assert "<html" in portal[-1].text.lower()


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def test_an_unknown_email_takes_as_long_as_a_known_one(app, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_CLIENT_MAX_FAILURES", 1000)
    monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_MAX_FAILURES", 1000)
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES", 1000)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1000 per minute")
    tech = make_user("technician")
    _api_attempt(app, tech.email, "warm-up", "10.4.0.1")
    known, unknown = [], []
    for i in range(5):
        known.append(_timed(lambda: _api_attempt(app, tech.email, "wrong", "10.4.0.1")))
        unknown.append(
            _timed(lambda i=i: _api_attempt(app, f"nobody{i}@example.com", "wrong", "10.4.0.1"))
        )
    # Both spend one password hash (tens of milliseconds); without it an unknown email answered
    # in a fraction of the time.
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.6 < ratio < 1.6, (known, unknown)


def test_a_throttled_answer_says_what_to_do(app, browser, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "1 per minute")
    _portal_attempt(browser, "a@example.com", "x", "10.5.0.1")
    _api_attempt(app, "a@example.com", "x", "10.5.0.2")
    page = _portal_attempt(browser, "a@example.com", "x", "10.5.0.1")
    api = _api_attempt(app, "a@example.com", "x", "10.5.0.2")

    assert page.status_code == 429 and "Too many attempts" in page.text
    assert api.status_code == 429 and "Retry-After" in api.get_json()["message"]
