"""The OpenAPI 3 description of the device API (kept true by tests against real answers)."""

from __future__ import annotations

from typing import Any

from portal.api.schemas import ACTION, ACTION_RESULT, FILE_META, JOB, NETWORK, PUSH_RESULT
from portal.domain.inbox import store
from portal.domain.sync import pull as sync_pull


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str = "") -> dict:
    return {
        "description": description or "JSON",
        "content": {"application/json": {"schema": schema}},
    }


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "malformed request (bad JSON, query or cursor)",
        401: "no, bad, revoked or expired device token",
        403: "not allowed",
        404: "not found, or not one of the technician's",
        405: "method not allowed",
        409: "conflicting reuse of an id",
        410: "cursor_expired: the cursor is older than the sync history kept; pull without one",
        413: "body too large",
        415: "unsupported content type",
        416: "range not satisfiable",
        422: "well-formed but invalid field",
        429: "throttled; see Retry-After",
    }
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


# Times in the API are UTC; this tells the device the zone to show them in.
TIMEZONE = {
    "type": "string",
    "minLength": 1,
    "description": (
        "The company's time zone, an IANA name such as Europe/Amsterdam: the zone in which "
        "the device shows times to the technician. Times in the API stay UTC (ISO 8601)."
    ),
    "example": "Europe/Amsterdam",
}

PATHS: dict[str, Any] = {
    "/auth/device": {
        "post": {
            "operationId": "signIn",
            "summary": "Exchange a technician's email and password for a device token",
            "security": [],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["email", "password", "device_id"],
                            "properties": {
                                "email": {"type": "string", "maxLength": 254},
                                "password": {"type": "string"},
                                "device_id": {"type": "string", "minLength": 1, "maxLength": 200},
                                "platform": {"type": "string", "maxLength": 40},
                                "app_version": {"type": "string", "maxLength": 40},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["token", "technician", "timezone"],
                        "properties": {
                            "token": {"type": "string"},
                            "timezone": TIMEZONE,
                            "technician": {
                                "type": "object",
                                "required": ["id", "email", "name"],
                                "properties": {
                                    "id": {"type": "integer"},
                                    "email": {"type": "string"},
                                    "name": {"type": "string"},
                                },
                            },
                            "device": {"type": "object"},
                        },
                    },
                    "signed in",
                ),
                **_errors(400, 401, 403, 413, 415, 422, 429),
            },
        }
    },
    "/device/push-token": {
        "put": {
            "operationId": "setPushToken",
            "summary": "Register or replace the device's FCM token (null clears it)",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["push_token"],
                            "properties": {
                                "push_token": {
                                    "type": "string",
                                    "maxLength": 4096,
                                    "nullable": True,
                                }
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["ok"],
                        "properties": {
                            "ok": {"type": "boolean"},
                            "push_token_updated_at": {"type": "string"},
                        },
                    },
                    "stored",
                ),
                **_errors(400, 401, 413, 415, 422),
            },
        }
    },
    "/sync/pull": {
        "get": {
            "operationId": "pull",
            "summary": "Changes since the cursor (absent: everything)",
            "parameters": [
                _query("cursor", {"type": "string"}, "opaque cursor from the last pull"),
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": sync_pull.MAX_LIMIT},
                    f"feed entries per page (default {sync_pull.DEFAULT_LIMIT})",
                ),
                _query(
                    "unsent_count",
                    {"type": "integer", "minimum": 0, "maximum": 1000000},
                    "actions the device still holds",
                ),
                _query("network", NETWORK, "the device's network class"),
            ],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": [
                            "jobs",
                            "removed",
                            "action_results",
                            "cursor",
                            "has_more",
                            "server_time",
                            "timezone",
                        ],
                        "properties": {
                            "jobs": {"type": "array", "items": _ref("Job")},
                            "removed": {"type": "array", "items": {"type": "integer"}},
                            "action_results": {"type": "array", "items": _ref("ActionResult")},
                            "cursor": {"type": "string"},
                            "has_more": {"type": "boolean"},
                            "server_time": {"type": "string", "format": "date-time"},
                            "timezone": TIMEZONE,
                        },
                    },
                    "a page of changes",
                ),
                **_errors(400, 401, 410),
            },
        }
    },
    "/sync/push": {
        "post": {
            "operationId": "push",
            "summary": "Upload a batch of actions; each is answered on its own",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["actions"],
                            "properties": {
                                "actions": {
                                    "type": "array",
                                    "maxItems": store.MAX_BATCH,
                                    "description": (
                                        "Actions (see Action). The batch is answered per"
                                        " action: one that is not a well-formed Action is"
                                        " 'rejected' (malformed) in its result and stops"
                                        " nothing, so any item is accepted here."
                                    ),
                                    "items": {"anyOf": [_ref("Action"), {}]},
                                },
                                "unsent_count": {
                                    "type": "integer",
                                    "minimum": 0,
                                    "maximum": 1000000,
                                },
                                "network": NETWORK,
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["results"],
                        "properties": {"results": {"type": "array", "items": _ref("PushResult")}},
                    },
                    "one result per action, in order",
                ),
                **_errors(400, 401, 413, 415, 422),
            },
        }
    },
    "/files": {
        "post": {
            "operationId": "uploadFile",
            "summary": "Upload a photo of one of the technician's jobs (idempotent by file_id)",
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["job_id", "file_id", "sha256", "file"],
                            "properties": {
                                "job_id": {"type": "integer", "minimum": 1},
                                "file_id": {
                                    "type": "string",
                                    "pattern": "^[A-Za-z0-9._:-]{1,100}$",
                                },
                                "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                                "file": {"type": "string", "format": "binary"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": _json(_ref("Upload"), "stored"),
                "200": _json(_ref("Upload"), "already stored (a retry)"),
                **_errors(400, 401, 403, 404, 409, 413, 415, 422),
            },
        }
    },
    "/files/{file_id}": {
        "get": {
            "operationId": "downloadFile",
            "summary": "Download an attachment or photo (Range, ETag, If-None-Match)",
            "parameters": [
                {
                    "name": "file_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                },
                {"name": "Range", "in": "header", "required": False, "schema": {"type": "string"}},
                {
                    "name": "If-None-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": {
                    "description": "the whole file",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "206": {
                    "description": "the requested range",
                    "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                },
                "304": {"description": "unchanged (ETag matched)"},
                **_errors(401, 404, 416),
            },
        }
    },
    "/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This description",
            "security": [],
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3 document")},
        }
    },
}


def document(server_url: str = "/api/v1") -> dict[str, Any]:
    """Return the OpenAPI 3 document of the device API."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Fieldsync device sync API",
            "version": "1",
            "description": "Errors are JSON {error, message, field?} with a 4xx status.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "field": {"type": "string"},
                    },
                },
                "FileMeta": FILE_META,
                "Job": JOB,
                "ActionResult": ACTION_RESULT,
                "Action": ACTION,
                "PushResult": PUSH_RESULT,
                "Upload": {
                    "allOf": [
                        FILE_META,
                        {
                            "type": "object",
                            "required": ["job_id", "file_id", "created"],
                            "properties": {
                                "job_id": {"type": "integer"},
                                "file_id": {"type": "string"},
                                "created": {"type": "boolean"},
                            },
                        },
                    ],
                },
            },
        },
    }
