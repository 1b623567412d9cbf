"""Security headers on every answer: a Content-Security-Policy with a per-request nonce,
no framing, no content sniffing.

Pages load scripts from ``static/`` only; a page that truly needs an inline script marks it
``<script nonce="{{ csp_nonce() }}">``. Inline event handlers (``onclick=``) are refused by
the policy: pages use ``data-*`` attributes that ``static/js/forms.js`` and the page scripts
read. Inline ``style=`` attributes stay allowed: the board and the charts position bars with
them, and they cannot run code.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, current_app, g

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


def init_app(app: Flask) -> None:
    app.before_request(_new_nonce)
    app.after_request(_add_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
