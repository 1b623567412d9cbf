"""JSON schemas of the device's configuration and a job's history (OpenAPI components)."""

from __future__ import annotations

from portal.models import FieldType, Right, Status

STATUS = {"type": "string", "enum": [s.value for s in Status]}
DEVICE_CONFIG = {
    "type": "object",
    "required": ["transitions", "report_fields", "rights", "timezone"],
    "properties": {
        "transitions": {
            "type": "array",
            "description": "The status changes a device may make (portal-only ones left out).",
            "items": {
                "type": "object",
                "required": ["from", "to"],
                "properties": {"from": STATUS, "to": STATUS},
            },
        },
        "report_fields": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "label", "type", "required_for"],
                "properties": {
                    "key": {"type": "string"},
                    "label": {"type": "string"},
                    "type": {"type": "string", "enum": [t.value for t in FieldType]},
                    # OpenAPI 3.0: a nullable enum lists null among its values.
                    "required_for": {
                        "type": "string",
                        "enum": [*STATUS["enum"], None],
                        "nullable": True,
                    },
                },
            },
        },
        "rights": {"type": "array", "items": {"type": "string", "enum": [r.value for r in Right]}},
        "timezone": {"type": "string", "minLength": 1},
    },
}
JOB_HISTORY = {
    "type": "object",
    "required": ["job_id", "history"],
    "properties": {
        "job_id": {"type": "integer"},
        "history": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["at", "who", "what"],
                "properties": {
                    "at": {"type": "string", "format": "date-time"},
                    "who": {"type": "string"},
                    "what": {"type": "string"},
                },
            },
        },
    },
}
