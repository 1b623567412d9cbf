"""Dispatcher pages: jobs (list, edit, detail, files, import), the day board, technicians."""

from flask import Blueprint

from portal.access import protect_blueprint
from portal.models import Role

bp = Blueprint("dispatch", __name__)
protect_blueprint(bp, Role.DISPATCHER)

from portal.dispatch import (  # noqa: E402,F401
    attachments,
    board,
    export,
    importer,
    job_detail,
    job_edit,
    jobs_list,
    technicians,
)
