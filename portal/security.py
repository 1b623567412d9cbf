"""Security headers on every answer: a Content-Security-Policy with a per-request nonce,
no framing, no content sniffing; and the portal's session cookie kept to the portal.

Pages load scripts from ``static/`` only; a page that truly needs an inline script marks it
``<script nonce="{{ csp_nonce() }}">``. Inline event handlers (``onclick=``) are refused by
the policy: pages use ``data-*`` attributes that ``static/js/forms.js`` and the page scripts
read. Inline ``style=`` attributes stay allowed: the board and the charts position bars with
them, and they cannot run code.
"""

from __future__ import annotations

import secrets

from flask import Flask, Request, Response, current_app, g
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

# Where phones authenticate with bearer tokens: the session cookie means nothing there.
TOKEN_PATHS = "/api/"

PAGE_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'nonce-{nonce}'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# JSON, scripts, styles: nothing in them may load or frame anything.
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'"


def csp_nonce() -> str:
    """Return this request's script nonce (the same in the header and in every template)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(16)
    return nonce


def _add_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # for browsers that predate frame-ancestors
    headers.setdefault("Referrer-Policy", "same-origin")
    if "Content-Security-Policy" not in headers:  # a file download sets its own
        if response.mimetype == "text/html":
            headers["Content-Security-Policy"] = PAGE_POLICY.format(nonce=csp_nonce())
        else:
            headers["Content-Security-Policy"] = OTHER_POLICY
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def _new_nonce() -> None:
    g.pop("csp_nonce", None)  # one nonce per request, even where an app context spans several


class _Unsent(SecureCookieSession):
    """A device API request's session: empty, and never written to a cookie."""


class PortalSessions(SecureCookieSessionInterface):
    """The portal's signed session cookie, neither read nor set by the device API.

    A browser sends the portal's cookie along to /api/ too; there it must not stand for
    anyone, and no API answer sets a cookie. It also spares every phone request the
    cookie's signing work, which costs about a tenth of an empty pull.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(TOKEN_PATHS):
            return _Unsent()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, _Unsent):
            super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = PortalSessions()
    app.before_request(_new_nonce)
    app.after_request(_add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
