"""JSON schemas of the device API's documents (the components of its OpenAPI document)."""

from __future__ import annotations

from portal.domain.inbox import store
from portal.domain.sync import pull as sync_pull
from portal.models import ActionType, MessageState, Status


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
FILE_META = {
    "type": "object",
    "required": ["id", "name", "size", "sha256", "content_type"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "size": {"type": "integer", "minimum": 0},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "content_type": {"type": "string"},
    },
}
JOB = {
    "type": "object",
    "required": [
        "id",
        "reference",
        "title",
        "description",
        "customer",
        "address",
        "scheduled_start",
        "scheduled_end",
        "status",
        "version",
        "report",
        "attachments",
        "photos",
    ],
    "properties": {
        "id": {"type": "integer"},
        "reference": {"type": "string", "nullable": True},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "customer": {"type": "string"},
        "address": {"type": "string"},
        "scheduled_start": NULLABLE_TIME,
        "scheduled_end": NULLABLE_TIME,
        "status": {"type": "string", "enum": [s.value for s in Status]},
        "version": {"type": "integer"},
        "report": {"type": "object"},
        "attachments": {"type": "array", "items": _ref("FileMeta")},
        "photos": {"type": "array", "items": _ref("FileMeta")},
    },
}
ACTION_RESULT = {
    "type": "object",
    "required": ["id", "job_id", "state", "updated_at"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "job_id": {"type": "integer"},
        "state": {"type": "string", "enum": [s.value for s in MessageState]},
        "category": {"type": "string"},
        "message": {"type": "string"},
        "updated_at": NULLABLE_TIME,
    },
}
ACTION = {
    "type": "object",
    "required": ["id", "job_id", "seq", "type", "payload"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "job_id": {"type": "integer", "minimum": 1, "maximum": store.MAX_INT},
        "seq": {"type": "integer", "minimum": 1, "maximum": store.MAX_INT},
        "type": {"type": "string", "enum": [t.value for t in ActionType]},
        "payload": {"type": "object"},
        "created_at": {"type": "string", "format": "date-time"},
    },
}
PUSH_RESULT = {
    "type": "object",
    "required": ["id", "state"],
    "properties": {
        "id": {"type": "string", "nullable": True},
        "state": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]},
        "error": {
            "type": "string",
            "enum": ["malformed", "id_reused", "unknown_job", "seq_reused"],
        },
        "message": {"type": "string"},
        "field": {"type": "string"},
    },
}
NETWORK = {"type": "string", "enum": list(sync_pull.NETWORKS)}
