"""Operations commands (``flask --app wsgi ...``), one module per area."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from portal.cli import jobs, simulate, users

    app.cli.add_command(users.users_cli)
    app.cli.add_command(users.demo)
    app.cli.add_command(jobs.jobs_cli)
    app.cli.add_command(simulate.simulate)
