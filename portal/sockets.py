"""Socket.IO connections: who joins which live room."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from flask_socketio import join_room

from portal.extensions import socketio
from portal.integrations import realtime
from portal.integrations.realtime import Room
from portal.models import Role


@socketio.on("connect")
def on_connect(auth=None):
    """Admit signed-in portal users only; admins and support also get the inbox room."""
    if not current_user.is_authenticated or current_user.is_technician:
        return False
    # Remembered so that signing out, a password change or deactivation can close it.
    realtime.socket_opened(current_user.id, request.sid)
    join_room(Room.JOBS)
    if current_user.role_enum.at_least(Role.ADMIN):
        join_room(Room.INBOX)
    return True


@socketio.on("disconnect")
def on_disconnect(reason=None):
    if current_user.is_authenticated:
        realtime.socket_closed(current_user.id, request.sid)


@socketio.on("watch_job")
def on_watch_job(data):
    """Follow one job's live changes (its detail page)."""
    try:
        job_id = int((data or {}).get("job_id"))
    except (TypeError, ValueError):
        return {"ok": False}
    join_room(Room.job(job_id))
    return {"ok": True}
