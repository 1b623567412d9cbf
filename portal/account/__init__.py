"""A signed-in person's own settings: their time zone and date format."""

from flask import Blueprint

from portal.access import protect_blueprint
from portal.models import Role

bp = Blueprint("account", __name__)
protect_blueprint(bp, Role.DISPATCHER)  # every portal role; technicians use the app

from portal.account import views  # noqa: E402,F401
