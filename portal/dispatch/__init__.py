from flask import Blueprint

from portal.access import protect_blueprint
from portal.models import Role

bp = Blueprint("dispatch", __name__)
protect_blueprint(bp, Role.DISPATCHER)

from portal.dispatch import views  # noqa: E402,F401
