"""Log lines for the web process and the worker: time, level, logger, request or job id.

:func:`configure` installs one handler on the root logger (replacing the one it installed
before, so creating several apps in one process does not repeat lines). Each line carries the
id of the request (the client's ``X-Request-ID`` when it sent a sane one, else a fresh one,
echoed in the response) or of the RQ job it was written for. ``LOG_LEVEL`` sets the level;
``LOG_FORMAT=json`` writes one JSON object a line for log collectors.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s"


def context_id() -> str:
    """Return the current request's id, else the current RQ job's, else '-'."""
    if has_request_context():
        return str(g.get("request_id") or "-")
    from rq import get_current_job

    job = get_current_job()
    return f"job:{job.id}" if job is not None else "-"


class ContextFilter(logging.Filter):
    """Add ``context`` (request or job id) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = context_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, context, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "context": getattr(record, "context", "-"),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class _Handler(logging.StreamHandler):
    """The handler :func:`configure` installs, recognisable so it is replaced, not added twice.

    It writes to ``sys.stderr`` as it is when a line is written, not as it was at start-up:
    test runners swap stderr and close the old one, and a daemon thread (Socket.IO's Redis
    listener) may still log after that.
    """

    def __init__(self) -> None:
        super().__init__()
        self._target: Any = None

    @property
    def stream(self) -> Any:
        return self._target or sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        self._target = value if value is not sys.stderr else None


def configure(level: str, fmt: str) -> None:
    """Send every logger's records at ``level`` and above to stderr in ``fmt`` (text or json)."""
    handler = _Handler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def init_app(app: Flask) -> None:
    """Configure logging from the app's settings and give every request an id."""
    configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
    app.before_request(_start_request)
    app.after_request(_echo_request_id)


def _start_request() -> None:
    sent = request.headers.get("X-Request-ID", "")
    g.request_id = sent if _SANE_ID.fullmatch(sent) else uuid.uuid4().hex[:16]


def _echo_request_id(response: Response) -> Response:
    if "request_id" in g:
        response.headers["X-Request-ID"] = g.request_id
    return response
