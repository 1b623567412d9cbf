from flask import Blueprint

from portal.access import protect_blueprint
from portal.models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin")
protect_blueprint(bp, Role.ADMIN)

from portal.admin import (  # noqa: E402,F401
    company,
    config,
    pushes,
    status,
    user_actions,
    users,
    views,
)
