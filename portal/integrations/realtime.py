"""Emit live events to browsers, from the web process or a worker (through Redis)."""

from __future__ import annotations

import logging
from typing import Any, cast

from portal.extensions import get_redis, socketio

log = logging.getLogger(__name__)


class Room:
    INBOX = "inbox"  # admins and support
    JOBS = "jobs"  # every signed-in portal user

    @staticmethod
    def job(job_id: int) -> str:
        return f"job:{job_id}"


def emit(event: str, data: dict[str, Any], room: str) -> None:
    """Send ``event`` to everyone in ``room``; a fan-out failure is logged, never raised."""
    try:
        socketio.emit(event, data, to=room, namespace="/")
    except Exception:
        log.exception("could not emit %s to %s", event, room)


# The open sockets of each user, so that ending their sessions closes their live pages too.
_SOCKETS = "fieldsync:sockets:{}"
_SOCKETS_TTL = 7 * 86400  # a set nobody touched for this long belongs to long-gone sockets


def socket_opened(user_id: int, sid: str) -> None:
    key = _SOCKETS.format(user_id)
    pipe = get_redis().pipeline()
    pipe.sadd(key, sid)
    pipe.expire(key, _SOCKETS_TTL)
    pipe.execute()


def socket_closed(user_id: int, sid: str) -> None:
    get_redis().srem(_SOCKETS.format(user_id), sid)


def disconnect_user(user_id: int) -> None:
    """Close every live socket of a user, in whichever web process it is (through Redis)."""
    key = _SOCKETS.format(user_id)
    try:
        redis = get_redis()
        # The client is synchronous; redis-py types its answers as sync-or-awaitable.
        sids = cast(set[bytes], redis.smembers(key))
        redis.delete(key)
        for sid in sids:
            socketio.server.disconnect(sid.decode(), namespace="/")
    except Exception:
        log.exception("could not close the live sockets of user %s", user_id)
