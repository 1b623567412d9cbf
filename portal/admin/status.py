"""Admin pages: the system status (queues, workers, cron, inbox, pushes)."""

from __future__ import annotations

from flask import render_template

from portal.admin import bp
from portal.domain import health
from portal.domain.inbox import unstick as inbox_unstick

# What each periodic task's result counts, in words (the keys are the tasks' own).
RESULT_WORDS = {
    "retried_lines": "failed lines retried",
    "requeued_lines": "idle lines handed to a worker",
    "deleted": "applied actions deleted",
    "remaining": "actions kept",
    "feed_compacted": "superseded sync entries removed",
    "feed_expired": "old sync entries removed",
    "pushes": "old pushes removed",
    "inbox_attempts": "old attempts removed",
    "sign_in_records": "spent sign-in records removed",
    "handled": "pushes sent",
}


@bp.route("/status")
def status():
    return render_template(
        "admin/status.html",
        snap=health.snapshot(),
        overdue=inbox_unstick.overdue_counts(),
        result_words=RESULT_WORDS,
    )
