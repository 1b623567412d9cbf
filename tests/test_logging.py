"""Log lines carry time, level, logger and the request or job they were written for."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from portal import logs


@pytest.fixture
def configured(app):
    """Configure logging as asked, capture what it writes; put the app's logging back after."""

    def configure(level: str = "INFO", fmt: str = "text") -> io.StringIO:
        logs.configure(level, fmt)
        [handler] = [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]
        buffer = io.StringIO()
        handler.setStream(buffer)
        return buffer

    yield configure
    logs.configure(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])


def test_a_line_written_during_a_request_names_the_request(app, configured):
    written = configured()
    with app.test_request_context(headers={"X-Request-ID": "req-42"}):
        app.preprocess_request()
        logging.getLogger("portal.example").warning("the boiler is %s", "cold")

    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} WARNING portal\.example \[req-42\] "
        r"the boiler is cold\n",
        written.getvalue(),
    )


def test_the_request_id_is_echoed_and_made_up_when_missing_or_unsafe(client):
    sent = client.get("/login", headers={"X-Request-ID": "abc-1"})
    assert sent.headers["X-Request-ID"] == "abc-1"
    made = client.get("/login", headers={"X-Request-ID": "no spaces\tplease"})
    assert re.fullmatch(r"[0-9a-f]{16}", made.headers["X-Request-ID"])
    assert client.get("/login").headers["X-Request-ID"] != made.headers["X-Request-ID"]


def test_a_line_written_in_a_worker_job_names_the_job_as_one_json_object(app, configured):
    from portal.integrations.queue import QueueName, enqueue
    from workers import make_worker

    written = configured("INFO", "json")
    job = enqueue("logging.warning", "sent from a job", queue_name=QueueName.DEFAULT)
    make_worker(app, (QueueName.DEFAULT,)).work(burst=True, logging_level="WARNING")

    [line] = [json.loads(x) for x in written.getvalue().splitlines() if '"root"' in x]
    assert (line["level"], line["context"]) == ("WARNING", f"job:{job.id}")
    assert line["message"] == "sent from a job" and line["time"]


def test_the_level_decides_what_is_written(configured):
    written = configured("ERROR")
    logging.getLogger("portal.example").warning("a warning")
    logging.getLogger("portal.example").error("an error")
    assert "an error" in written.getvalue() and "a warning" not in written.getvalue()
