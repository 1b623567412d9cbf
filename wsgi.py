"""The WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi ...``."""

import workers
from portal import create_app

app = create_app()
workers.init_app(app)
