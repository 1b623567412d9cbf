"""The delta pull and the action upload."""

from __future__ import annotations

from flask import current_app, jsonify, request

from portal.api import bp
from portal.api.common import (
    ApiError,
    body_limit,
    current_device,
    current_technician,
    device_ref,
    json_body,
    writing,
)
from portal.domain import timezones
from portal.domain.inbox import store
from portal.domain.sync import documents
from portal.domain.sync import pull as sync_pull
from portal.extensions import db
from portal.models import utcnow

# Actions are small: a batch body above this is refused (413) before it is read.
PUSH_MAX_BYTES = 2 * 1024 * 1024


def _int_arg(args: dict[str, str], name: str, minimum: int, maximum: int) -> int | None:
    raw = args.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "malformed", f"'{name}' must be a whole number.", name) from None
    if not minimum <= value <= maximum:
        raise ApiError(400, "malformed", f"'{name}' must be {minimum} to {maximum}.", name)
    return value


def _network(raw: object) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or raw.lower() not in sync_pull.NETWORKS:
        raise ApiError(
            400,
            "malformed",
            f"'network' must be one of: {', '.join(sync_pull.NETWORKS)}.",
            "network",
        )
    return raw.lower()


@bp.get("/sync/pull")
def pull():
    """Return what changed for this technician since the cursor."""
    device = device_ref()
    # A plain dict: werkzeug's MultiDict raises and catches an exception for each missing
    # parameter, and a phone's pull usually sends only the cursor.
    args = request.args.to_dict()
    limit = _int_arg(args, "limit", 1, sync_pull.MAX_LIMIT) or sync_pull.DEFAULT_LIMIT
    unsent = _int_arg(args, "unsent_count", 0, 1_000_000)
    network = _network(args.get("network"))
    try:
        page = sync_pull.pull(
            device.user_id, device.id, args.get("cursor"), limit, device.feed_position
        )
    except sync_pull.CursorError as exc:
        raise ApiError(400, "bad_cursor", str(exc), "cursor") from None
    except sync_pull.CursorExpired as exc:
        raise ApiError(410, "cursor_expired", str(exc), "cursor") from None
    if page.unchanged:
        cursor = args["cursor"]  # the same position: signing it again gives this
    else:
        cursor = sync_pull.encode_cursor(device.user_id, page.position, page.after_job)
    body = {
        "jobs": page.jobs,
        "removed": page.removed,
        "action_results": page.action_results,
        "cursor": cursor,
        "has_more": page.has_more,
        "server_time": utcnow().isoformat(),
        "timezone": timezones.company_zone_name(),
    }
    if not page.has_more and sync_pull.needs_recording(device, unsent, network):
        with writing():
            sync_pull.record_sync(device, unsent, network)
    elif db.session.registry.has():  # an empty pull never opened a session
        db.session.rollback()  # end the reads
    # Compact, and reports go in as stored: a page of 50 jobs is the largest answer devices
    # poll for.
    return current_app.response_class(documents.dumps(body), mimetype="application/json")


@bp.post("/sync/push")
@body_limit(PUSH_MAX_BYTES)
def push():
    """Store a batch of actions in the inbox; answer per action."""
    data = json_body()
    raw_actions = data.get("actions")
    if not isinstance(raw_actions, list):
        raise ApiError(422, "malformed", "'actions' must be a list.", "actions")
    if len(raw_actions) > store.MAX_BATCH:
        # The schema states the limit (maxItems), so exceeding it is invalid input, like any
        # other schema violation: 422.
        raise ApiError(
            422,
            "too_many_actions",
            f"Send at most {store.MAX_BATCH} actions per batch.",
            "actions",
        )
    unsent = data.get("unsent_count")
    if unsent is not None and (
        not isinstance(unsent, int) or isinstance(unsent, bool) or not 0 <= unsent <= 1_000_000
    ):
        raise ApiError(
            422, "malformed", "'unsent_count' must be a whole number ≥ 0.", "unsent_count"
        )
    network = _network(data.get("network"))
    device = current_device()
    results = store.store(current_technician(), device, raw_actions)
    if unsent is not None:
        device.unsent_count = unsent
    if network is not None:
        device.network = network
    db.session.commit()
    return jsonify(results=results)
