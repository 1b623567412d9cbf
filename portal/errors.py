"""Error pages: HTML for the portal, JSON ``{error, message}`` for the API and XHR."""

from __future__ import annotations

from flask import Flask, flash, jsonify, redirect, render_template, request
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
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = exc.description
        if exc.code == 429:  # the limiter's own text is the limit itself ("30 per 1 minute")
            message = "Too many attempts from your address. Wait a minute, then try again."
        headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
        if json_wanted():
            body = {"error": _code_name(exc), "message": message}
            return jsonify(body), exc.code or 500, headers
        return (
            render_template("errors/error.html", code=exc.code, message=message),
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
        return render_template("errors/error.html", code=500, message=message), 500
