"""Error pages: HTML for the portal, JSON ``{error, message}`` for the API and XHR."""

from __future__ import annotations

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal import drafts
from portal.extensions import db


def json_wanted() -> bool:
    """Tell whether to answer in JSON: the API always, elsewhere a client that wants only JSON.

    ``Accept: */*`` (curl, link checkers, monitors) accepts HTML too, so it gets the page or
    the redirect to sign-in that a browser gets.
    """
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def _code_name(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_")


HEADINGS = {
    400: "That request could not be read",
    403: "Not for your role",
    404: "Page not found",
    405: "This address does not take that",
    413: "Too large",
    429: "Too many attempts",
    500: "Something went wrong",
}


def plain_message(code: int) -> str:
    """Say what an HTTP error means for the person who met it (the 413 names the limit)."""
    from flask_login import current_user

    if code == 403:
        role = getattr(current_user, "role", None)
        mine = f" You are signed in as {role}." if role else ""
        return "This page is for other roles." + mine + " Ask an admin if you need it."
    if code == 404:
        return "There is no such page: the address may be mistyped, or what it showed is gone."
    if code == 405:
        return "This address is not meant to be opened this way. Go back and use the page's form."
    if code == 413:
        size = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        limit = f"{size // (1024 * 1024)} MB" if size >= 1024 * 1024 else f"{size // 1024} KB"
        return f"What was sent is larger than the limit of {limit}. Send a smaller file."
    return "Something went wrong with that request. Go back and try again."


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        message = "The form expired or was sent without its security token. Reload and retry."
        if json_wanted():
            return jsonify(error="csrf", message=message), 400
        page = drafts.origin_page() if request.method == "POST" else None
        if page is not None:
            # A form left open across a sign-in (or a new session): back to it, typed values
            # kept, instead of a bare error page.
            kept = drafts.keep()
            flash(
                "That form was opened before your session changed, so it was not sent. "
                + (
                    "What you typed is back in the form: check it and send it again."
                    if kept
                    else "Please fill it in again."
                ),
                "warning",
            )
            return redirect(page)
        return render_template(
            "errors/error.html", code=400, message=message, heading="The form expired"
        ), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = exc.description
        if exc.code == 429:  # the limiter's own text is the limit itself ("30 per 1 minute")
            message = "Too many attempts from your address. Wait a minute, then try again."
        elif message == type(exc).description:  # Werkzeug's generic text: say it our way
            message = plain_message(exc.code or 500)
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        if json_wanted():
            body = {"error": _code_name(exc), "message": message}
            return jsonify(body), exc.code or 500, headers
        return (
            render_template(
                "errors/error.html",
                code=exc.code,
                message=message,
                heading=HEADINGS.get(exc.code or 500, "Something went wrong"),
            ),
            exc.code or 500,
            headers,
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        message = "Something went wrong on our side; nothing was changed. Try again."
        if json_wanted():
            return jsonify(error="internal", message=message), 500
        return render_template(
            "errors/error.html", code=500, message=message, heading=HEADINGS[500]
        ), 500
