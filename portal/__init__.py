"""Fieldsync: the Flask application factory."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import config as settings
from portal import logs


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Create the app: configuration, extensions, blueprints, CLI."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = Flask(
        __name__,
        instance_path=settings.instance_path(root),
        instance_relative_config=True,
        template_folder=os.path.join(root, "templates"),
        static_folder=os.path.join(root, "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)

    app.config.from_mapping(settings.load(app.instance_path))
    app.config.from_pyfile("config.py", silent=True)
    if config:
        app.config.update(config)
    settings.check(app.config)  # a bad value stops start-up here, naming the setting
    logs.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])

    from portal import models  # noqa: F401  (register tables before migrate binds)
    from portal.extensions import csrf, db, limiter, login_manager, migrate, socketio

    db.init_app(app)
    migrate.init_app(
        app, db, directory=os.path.join(root, "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    socketio.init_app(
        app,
        async_mode="threading",
        message_queue=app.config["REDIS_URL"],
        # None: only the portal's own origin (as the request, or the proxy, names the host).
        cors_allowed_origins=app.config.get("SOCKETIO_ALLOWED_ORIGINS"),
    )
    if app.config.get("PROXY_COUNT"):
        # Outermost, so sign-in throttling and Socket.IO's origin check see the client's
        # address, scheme and host as the proxies forwarded them.
        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )

    from portal import access, effects, errors, localtime, params, security, templating
    from portal.account import bp as account_bp
    from portal.admin import bp as admin_bp
    from portal.api import bp as api_bp
    from portal.auth import bp as auth_bp
    from portal.dispatch import bp as dispatch_bp
    from portal.inbox import bp as inbox_bp
    from portal.technician import bp as technician_bp

    app.url_map.converters["int"] = params.IdConverter  # before any route is added
    for bp in (auth_bp, dispatch_bp, inbox_bp, admin_bp, api_bp, account_bp, technician_bp):
        app.register_blueprint(bp)
    app.before_request(access.enforce)
    app.before_request(_mark_writer)
    app.teardown_request(_unmark_writer)
    errors.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    localtime.init_app(app)
    effects.init_app(app)

    from portal.domain.sync import feed

    feed.init_app(app)

    from portal import cli, sockets  # noqa: F401

    cli.init_app(app)
    return app


def _mark_writer() -> None:
    """Let a state-changing request take SQLite's write lock at its first statement."""
    from flask import g, request

    from portal.extensions import sqlite_writer

    if request.method not in ("GET", "HEAD", "OPTIONS"):
        g.sqlite_writer_token = sqlite_writer.set(True)


def _unmark_writer(_exc=None) -> None:
    from flask import g

    from portal.extensions import sqlite_writer

    token = g.pop("sqlite_writer_token", None)
    if token is not None:
        # End whatever transaction the request left open (its work is committed by now), so
        # a session that outlives the request (tests share one app context) holds no lock.
        from portal.extensions import db

        db.session.rollback()
        sqlite_writer.reset(token)
