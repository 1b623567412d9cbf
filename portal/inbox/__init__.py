from flask import Blueprint

from portal.access import protect_blueprint
from portal.models import Role

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
protect_blueprint(bp, Role.ADMIN)

from portal.inbox import unstick, views  # noqa: E402,F401
