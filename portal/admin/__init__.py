from flask import Blueprint

from portal.access import protect_blueprint
from portal.models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin")
protect_blueprint(bp, Role.ADMIN)

from portal.admin import company, config, pushes, status, users, views  # noqa: E402,F401
