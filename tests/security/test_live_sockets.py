"""The live channel (Socket.IO): only the portal's own origin, and closed when sessions end."""

from __future__ import annotations

import base64
import http.client

import pytest
import requests

from portal import config as settings
from portal.extensions import socketio
from tests.conftest import browser_login

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def test_a_handshake_from_another_origin_is_refused(live_server):
    own = requests.get(live_server + HANDSHAKE, headers={"Origin": live_server}, timeout=10)
    foreign = requests.get(
        live_server + HANDSHAKE, headers={"Origin": "http://evil.example"}, timeout=10
    )
    same_site = requests.get(
        live_server + HANDSHAKE,
        headers={"Origin": live_server.replace("127.0.0.1", "localhost")},
        timeout=10,
    )

    assert own.status_code == 200
    assert foreign.status_code == 400 and same_site.status_code == 400


def _websocket_upgrade(live_server: str, origin: str) -> int:
    """Send a WebSocket upgrade request and return the status of the answer."""
    host, port = live_server.split("://", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(
            "GET",
            "/socket.io/?EIO=4&transport=websocket",
            headers={
                "Origin": origin,
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
                "Sec-WebSocket-Version": "13",
            },
        )
        return conn.getresponse().status
    finally:
        conn.close()


def test_a_websocket_from_another_origin_is_refused(live_server):
    assert _websocket_upgrade(live_server, "http://evil.example") == 400
    assert _websocket_upgrade(live_server, live_server) == 101


def test_the_allowed_origins_are_a_setting(app, monkeypatch):
    monkeypatch.setenv("SOCKETIO_ALLOWED_ORIGINS", "https://fieldsync.example.com, https://x.io")
    assert settings.load("/tmp")["SOCKETIO_ALLOWED_ORIGINS"] == [
        "https://fieldsync.example.com",
        "https://x.io",
    ]
    monkeypatch.setenv("SOCKETIO_ALLOWED_ORIGINS", "*")
    with pytest.raises(RuntimeError, match="SOCKETIO_ALLOWED_ORIGINS"):
        settings.load("/tmp")
    # Unset, the server checks against the request's own host (engine.io's same-origin rule).
    assert socketio.server.eio.cors_allowed_origins is None


@pytest.mark.browser
def test_signing_out_elsewhere_closes_the_live_page(page, make_user, browser):
    user = make_user("dispatcher")
    browser_login(page, user.email)
    page.wait_for_function("document.documentElement.dataset.live === 'on'")

    other = browser()
    assert (
        other.post_form("/login", {"email": user.email, "password": "password123"}).status_code
        == 302
    )
    other.post_form("/logout")

    page.wait_for_function("document.documentElement.dataset.live === 'off'")
    page.reload()
    assert "/login" in page.url
