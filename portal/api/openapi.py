"""The OpenAPI description, served to devices and tools."""

from __future__ import annotations

from flask import jsonify, request

from portal.api import bp, spec
from portal.api.common import anonymous


@bp.get("/openapi.json")
@anonymous
def openapi():
    """Serve the OpenAPI 3 document of the device API."""
    return jsonify(spec.document(request.script_root + bp.url_prefix))
