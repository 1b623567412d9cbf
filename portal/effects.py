"""Side effects (enqueue a task, emit a socket event) that run only after the commit.

A request or task calls :func:`after_commit` while it changes data; if the transaction
commits, the effects run in order, each once; if it rolls back, they are dropped. This is
what keeps a push or a live update from announcing a change that never happened.

Savepoints: releasing one runs nothing (the root transaction may still roll back), and
rolling one back forgets only the effects asked for inside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db

log = logging.getLogger(__name__)
_KEY = "fieldsync_after_commit"


def after_commit(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run ``fn(*args, **kwargs)`` once the current transaction has committed."""
    pending: dict = db.session.info.setdefault(_KEY, {})
    key = (fn, args, tuple(sorted(kwargs.items())))
    # The same effect asked for twice in one transaction runs once (e.g. one line enqueue).
    pending.setdefault(key, (fn, args, kwargs, db.session().get_nested_transaction()))


def inside(transaction: Any, savepoint: Any) -> bool:
    """Tell whether ``transaction`` is ``savepoint`` or nested in it."""
    while transaction is not None:
        if transaction is savepoint:
            return True
        transaction = transaction.parent
    return False


def _run(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: wait for the root commit
    pending = session.info.pop(_KEY, None)
    if not pending:
        return
    for fn, args, kwargs, _ in pending.values():
        try:
            fn(*args, **kwargs)
        except Exception:  # an effect failing must not turn a committed change into an error
            log.exception("after-commit effect %s failed", getattr(fn, "__name__", fn))


def _drop(session: Session, *_: Any) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is None:
        session.info.pop(_KEY, None)
        return
    pending = session.info.get(_KEY) or {}
    for key, (*_, asked_in) in list(pending.items()):
        if inside(asked_in, savepoint):
            del pending[key]


def init_app(app: Flask) -> None:
    """Hook the effect runner into every session (idempotent)."""
    if not event.contains(Session, "after_commit", _run):
        event.listen(Session, "after_commit", _run)
        event.listen(Session, "after_rollback", _drop)
