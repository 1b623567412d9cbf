"""What several sub-commands share: scratch databases of either kind, migrated, and an app."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

from benchlib import PG_ADMIN, ROOT, VENV_BIN

FLASK = str(VENV_BIN / "flask")


class Scratch:
    """A migrated scratch database (a SQLite file in ``tmp``, or a PostgreSQL database)."""

    def __init__(self, backend: str, tmp: Path, redis_url: str, label: str = "bench"):
        self.backend, self.tmp = backend, tmp
        self.name = f"fieldsync_bench_{label}_{uuid.uuid4().hex[:8]}"
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp / (self.name + '.db')}"
        else:
            base = PG_ADMIN.rsplit("/", 1)[0]
            self.url = f"postgresql+psycopg://{base.split('://', 1)[1]}/{self.name}"
        self.env = dict(
            os.environ,
            DATABASE_URL=self.url,
            REDIS_URL=redis_url,
            FIELDSYNC_INSTANCE=str(tmp / "instance"),
            SECRET_KEY="bench",
        )
        self.env.pop("FCM_CREDENTIALS", None)
        self.created = False

    def create(self) -> Scratch:
        if self.backend == "postgresql":
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{self.name}"')
            self.created = True
        subprocess.run([FLASK, "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=self.env,
                       check=True, capture_output=True)  # fmt: skip
        return self

    def app(self, **config):
        """Return an app on this database (in this process)."""
        os.environ["FIELDSYNC_INSTANCE"] = self.env["FIELDSYNC_INSTANCE"]
        from portal import create_app

        return create_app(
            {"SQLALCHEMY_DATABASE_URI": self.url, "REDIS_URL": self.env["REDIS_URL"],
             "SECRET_KEY": "bench", **config}
        )  # fmt: skip

    def drop(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
