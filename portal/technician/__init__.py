"""The technician web app at /app/: its shell page, manifest and service worker."""

from flask import Blueprint

from portal.access import PUBLIC, protect_blueprint

# The shell holds no data: everything a technician sees comes through the device API with
# the device's own token, so the pages themselves are public.
bp = Blueprint("technician", __name__, url_prefix="/app")
protect_blueprint(bp, PUBLIC)

from portal.technician import views  # noqa: E402,F401
