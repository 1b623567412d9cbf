"""The device sync API under /api/v1: JSON in, JSON out, bearer-token auth."""

from flask import Blueprint

from portal.access import DEVICE, protect_blueprint
from portal.extensions import csrf, limiter

bp = Blueprint("api", __name__, url_prefix="/api/v1")
protect_blueprint(bp, DEVICE)
# Devices authenticate with bearer tokens, not cookies, so CSRF does not apply.
csrf.exempt(bp)

from portal.api import auth, common, device_setup, files, openapi, sync  # noqa: E402,F401

common.init_blueprint(bp)
# Its only limit is the sign-in route's own, which that route checks.
limiter.skip_middleware(bp.name)
