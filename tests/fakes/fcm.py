"""A fake FCM HTTP v1 server on loopback: an OAuth token endpoint and ``messages:send``.

It lets pyfcm's real code path run (google-auth signs a JWT with a generated service-account
key and fetches a token from ``token_uri``; pyfcm posts to ``FCM_ENDPOINT``). Every request
is recorded; error replies are chosen per test::

    fake = FakeFCM().start()
    creds = fake.write_credentials(tmp_path / "sa.json")
    app.config.update(FCM_CREDENTIALS=str(creds), FCM_ENDPOINT=fake.endpoint)
    env.update(fake.settings())            # the same, for a worker subprocess
    fake.fail_next(429, retry_after=1)     # the next send is throttled
    fake.fail_always(503)                  # every send fails until fake.reset_replies()
    fake.unregister("token-x")             # 404 UNREGISTERED for this token
    fake.wait_for(1)                       # block until one send was answered 200

A threaded HTTP/1.1 server with keep-alive, so that it does not bound a benchmark.
Other test packages get the ``fake_fcm`` fixture with
``from tests.fakes.fcm import fake_fcm  # noqa: F401`` in their conftest.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

PROJECT = "fieldsync-test"
TOKEN_LIFETIME = 3600

_ERRORS = {
    400: ("INVALID_ARGUMENT", "INVALID_ARGUMENT", "Request contains an invalid argument."),
    401: ("UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR", "Request had invalid credentials."),
    403: ("PERMISSION_DENIED", "SENDER_ID_MISMATCH", "SenderId mismatch"),
    404: ("NOT_FOUND", "UNREGISTERED", "Requested entity was not found."),
    429: ("RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED", "Quota exceeded for quota metric."),
    500: ("INTERNAL", "INTERNAL", "Internal error encountered."),
    503: ("UNAVAILABLE", "UNAVAILABLE", "The service is currently unavailable."),
}


@dataclass
class Reply:
    """An error reply: HTTP status, optional Retry-After, FCM error code and message."""

    status: int
    retry_after: str | None = None
    error_code: str | None = None
    message: str | None = None

    def body(self) -> dict:
        status, code, text = _ERRORS.get(self.status, ("UNKNOWN", "UNSPECIFIED_ERROR", "Error"))
        detail: dict[str, Any] = {
            "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
            "errorCode": self.error_code or code,
        }
        return {
            "error": {
                "code": self.status,
                "message": self.message or text,
                "status": status,
                "details": [detail],
            }
        }


@dataclass
class Received:
    """One ``messages:send`` request as the fake saw it, with the status it answered."""

    project: str
    authorization: str
    body: dict
    status: int
    at: float
    name: str | None = None
    connection: int = 0

    @property
    def message(self) -> dict:
        return self.body.get("message", {})

    @property
    def token(self) -> str | None:
        return self.message.get("token")

    @property
    def data(self) -> dict:
        return self.message.get("data", {})

    @property
    def notification(self) -> dict:
        return self.message.get("notification", {})


@dataclass
class _State:
    lock: threading.Condition = field(default_factory=threading.Condition)
    requests: list[Received] = field(default_factory=list)
    token_requests: list[dict] = field(default_factory=list)
    issued: set[str] = field(default_factory=set)
    scripted: list[Reply] = field(default_factory=list)
    always: Reply | None = None
    bad_tokens: dict[str, Reply] = field(default_factory=dict)
    refuse_tokens: bool = False
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))
    connections: itertools.count = field(default_factory=lambda: itertools.count(1))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as FCM does
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK would add ~40 ms to every reply and the fake would bound benchmarks.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection_no = next(self.server.state.connections)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _reply(self, status: int, body: dict, headers: dict | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/token":
            return self._token(raw)
        parts = self.path.split("/")
        # /v1/projects/<project>/messages:send
        if len(parts) == 5 and parts[1:3] == ["v1", "projects"] and parts[4] == "messages:send":
            return self._send(parts[3], raw)
        return self._reply(404, Reply(404, error_code="NOT_FOUND", message="No such path").body())

    def _token(self, raw: bytes) -> None:
        form = parse_qs(raw.decode())
        claims = _jwt_claims((form.get("assertion") or [""])[0])
        state = self.server.state
        if state.refuse_tokens:
            body = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            return self._reply(400, body)
        with state.lock:
            token = f"fake-access-token-{next(state.counter)}"
            state.issued.add(token)
            state.token_requests.append({"form": form, "claims": claims, "at": time.time()})
        body = {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}
        self._reply(200, body)

    def _send(self, project: str, raw: bytes) -> None:
        state = self.server.state
        auth = self.headers.get("Authorization", "")
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {}
        token = (body.get("message") or {}).get("token")
        with state.lock:
            if auth.removeprefix("Bearer ") not in state.issued:
                reply: Reply | None = Reply(401, error_code="THIRD_PARTY_AUTH_ERROR")
            elif token in state.bad_tokens:
                reply = state.bad_tokens[token]
            elif state.scripted:
                reply = state.scripted.pop(0)
            else:
                reply = state.always
            name = None
            if reply is None:
                name = f"projects/{project}/messages/{next(state.counter)}"
            state.requests.append(
                Received(
                    project,
                    auth,
                    body,
                    reply.status if reply else 200,
                    time.time(),
                    name,
                    self.connection_no,
                )
            )
            state.lock.notify_all()
        if reply is None:
            return self._reply(200, {"name": name})
        headers = {"Retry-After": reply.retry_after} if reply.retry_after is not None else {}
        self._reply(reply.status, reply.body(), headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    state: _State


def _jwt_claims(assertion: str) -> dict:
    try:
        payload = assertion.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


class FakeFCM:
    """The fake server; ``start()`` binds a free loopback port, ``stop()`` shuts it down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.state = _State()
        self._thread: threading.Thread | None = None

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> FakeFCM:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeFCM:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def endpoint(self) -> str:
        """The value for FCM_ENDPOINT."""
        return f"{self.base_url}/v1/projects"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    credentials: Path | None = None

    def settings(self) -> dict[str, str]:
        """Return FCM_CREDENTIALS and FCM_ENDPOINT for this fake (after write_credentials)."""
        assert self.credentials is not None, "call write_credentials first"
        return {"FCM_CREDENTIALS": str(self.credentials), "FCM_ENDPOINT": self.endpoint}

    def write_credentials(self, path: Path | str, project_id: str = PROJECT) -> Path:
        """Write a service-account JSON with a fresh RSA key whose token_uri is this fake."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": project_id,
            "private_key_id": "fake-key-1",
            "private_key": pem,
            "client_email": f"push@{project_id}.iam.gserviceaccount.com",
            "client_id": "1",
            "auth_uri": f"{self.base_url}/auth",
            "token_uri": self.token_uri,
        }
        path = Path(path)
        path.write_text(json.dumps(info))
        self.credentials = path
        return path

    # --- replies chosen per test ----------------------------------------------------------
    def fail_next(
        self,
        status: int,
        times: int = 1,
        retry_after: float | str | None = None,
        error_code: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` sends with an error."""
        ra = None if retry_after is None else str(retry_after)
        with self._server.state.lock:
            self._server.state.scripted.extend(
                Reply(status, ra, error_code, message) for _ in range(times)
            )

    def fail_always(self, status: int, retry_after: float | str | None = None) -> None:
        """Answer every send with an error until :meth:`reset_replies`."""
        ra = None if retry_after is None else str(retry_after)
        with self._server.state.lock:
            self._server.state.always = Reply(status, ra)

    def fail_for(self, token: str, status: int, retry_after: float | str | None = None) -> None:
        """Answer every send to ``token`` with an error until :meth:`reset_replies`."""
        ra = None if retry_after is None else str(retry_after)
        with self._server.state.lock:
            self._server.state.bad_tokens[token] = Reply(status, ra)

    def unregister(self, token: str) -> None:
        """Answer sends to ``token`` with 404 UNREGISTERED."""
        with self._server.state.lock:
            self._server.state.bad_tokens[token] = Reply(404, error_code="UNREGISTERED")

    def invalidate(self, token: str) -> None:
        """Answer sends to ``token`` with 400 INVALID_ARGUMENT naming the token."""
        reply = Reply(400, message="The registration token is not a valid FCM registration token")
        with self._server.state.lock:
            self._server.state.bad_tokens[token] = reply

    def refuse_tokens(self, refuse: bool = True) -> None:
        """Answer the OAuth token endpoint with 400 invalid_grant (a revoked service account)."""
        with self._server.state.lock:
            self._server.state.refuse_tokens = refuse

    def reset_replies(self) -> None:
        with self._server.state.lock:
            self._server.state.refuse_tokens = False
            self._server.state.scripted.clear()
            self._server.state.always = None
            self._server.state.bad_tokens.clear()

    def reset(self) -> None:
        """Forget replies and recorded requests (issued access tokens stay valid)."""
        self.reset_replies()
        with self._server.state.lock:
            self._server.state.requests.clear()
            self._server.state.token_requests.clear()

    # --- what was received ----------------------------------------------------------------
    @property
    def requests(self) -> list[Received]:
        with self._server.state.lock:
            return list(self._server.state.requests)

    @property
    def delivered(self) -> list[Received]:
        """The sends answered 200."""
        return [r for r in self.requests if r.status == 200]

    @property
    def token_requests(self) -> list[dict]:
        with self._server.state.lock:
            return list(self._server.state.token_requests)

    def wait_for(self, count: int, timeout: float = 10.0, delivered: bool = True) -> list:
        """Block until ``count`` sends were received (answered 200 unless ``delivered=False``)."""
        deadline = time.monotonic() + timeout
        state = self._server.state
        with state.lock:
            while True:
                got = [r for r in state.requests if r.status == 200 or not delivered]
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                state.lock.wait(left)


@pytest.fixture
def fake_fcm(tmp_path):
    """A fake FCM on loopback with a service-account JSON for it (``fake.settings()``)."""
    fake = FakeFCM().start()
    fake.write_credentials(tmp_path / "service-account.json")
    yield fake
    fake.stop()
