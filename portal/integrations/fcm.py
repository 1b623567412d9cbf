"""FCM HTTP v1 through pyfcm: the only module that imports pyfcm.

pyfcm on its own sleeps inside the process on a ``Retry-After`` header, lets urllib3 retry
502/503 with back-off, and refreshes the OAuth token every 30 minutes whether it expired or
not. Here it is wrapped so that one send is exactly one HTTP request (plus one retry when FCM
says the access token expired): throttling and server errors come back as :class:`Retryable`
with FCM's ``Retry-After``, and the RQ task reschedules itself instead of holding the worker.
One OAuth access token is reused until it expires, and one keep-alive HTTP session is reused
for every send of the process (workers are single-threaded ``SimpleWorker`` processes).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import google.auth.exceptions
import google.auth.transport.requests
import requests
from flask import current_app
from pyfcm import FCMNotification
from pyfcm.errors import (
    AuthenticationError,
    FCMNotRegisteredError,
    FCMSenderIdMismatchError,
    FCMServerError,
    InvalidDataError,
)
from requests.adapters import HTTPAdapter

from portal.models.base import utcnow

SEND_TIMEOUT = 10.0  # seconds for one HTTP request to FCM; a hung call must not pin the worker


@dataclass(frozen=True)
class Message:
    """One push to one device: a data message with a notification text and a collapse key."""

    token: str
    title: str
    body: str
    data: dict[str, str]
    collapse_key: str


class FcmError(Exception):
    """A send that did not succeed; ``str(exc)`` is the text kept as the push's last error."""


class Retryable(FcmError):
    """FCM throttled (429) or failed (5xx, network): try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TokenInvalid(FcmError):
    """The device's registration token is unregistered or malformed: forget it."""


class Permanent(FcmError):
    """Retrying cannot help (bad credentials, sender mismatch, a payload FCM refuses)."""


class _Client(FCMNotification):
    """pyfcm's client with one request per send, no sleeping, and a token reused until expiry."""

    def __init__(self, credentials_path: str, endpoint: str) -> None:
        super().__init__(service_account_file=credentials_path)
        # pyfcm builds the send URL from this class attribute; an instance value overrides it.
        self.FCM_END_POINT_BASE = endpoint.rstrip("/")
        self._session: requests.Session | None = None
        self._token_request: google.auth.transport.requests.Request | None = None
        self.last_response: requests.Response | None = None
        self.token_fetches = 0

    @property
    def requests_session(self) -> requests.Session:
        """Return the keep-alive session; urllib3 retries are off (the queue retries)."""
        if self._session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=0, pool_connections=2, pool_maxsize=4)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["Content-Type"] = "application/json"
            self._session = session
        return self._session

    def _bearer(self, force: bool = False) -> str:
        """Return the access token, fetching a new one only when it is missing or expiring."""
        if self.credentials is None:
            self._initialize_credentials()
        if force or not self.credentials.valid:
            if self._token_request is None:
                self._token_request = google.auth.transport.requests.Request(requests.Session())
            self.credentials.refresh(self._token_request)
            self.token_fetches += 1
        return self.credentials.token

    def request_headers(self) -> dict[str, str]:
        return {"Content-Type": "application/json", "Authorization": f"Bearer {self._bearer()}"}

    def send_request(self, payload: Any = None, timeout: float | None = None) -> requests.Response:
        """POST the message once; never sleep on Retry-After (the caller reschedules)."""
        response = self._post(payload, timeout, self._bearer())
        if self._is_access_token_expired(response):
            response = self._post(payload, timeout, self._bearer(force=True))
        self.last_response = response
        return response

    def _post(self, payload: Any, timeout: float | None, token: str) -> requests.Response:
        return self.requests_session.post(
            self.fcm_end_point,
            data=payload,
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
        )


_clients: dict[tuple[str, str], _Client] = {}
_lock = threading.Lock()


def configured() -> bool:
    """Tell whether FCM credentials are configured (else pushes are recorded, not sent)."""
    return bool(current_app.config.get("FCM_CREDENTIALS"))


def client() -> _Client:
    """Return this process's client for the configured credentials and endpoint."""
    key = (
        str(current_app.config["FCM_CREDENTIALS"]),
        str(current_app.config["FCM_ENDPOINT"]),
    )
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _clients[key] = _Client(*key)
        return found


def reset_clients() -> None:
    """Drop cached clients (their sessions and tokens), e.g. when the settings change."""
    with _lock:
        for c in _clients.values():
            if c._session is not None:
                c._session.close()
        _clients.clear()


def send(message: Message) -> str:
    """Send one message through pyfcm; return FCM's message name or raise an FcmError."""
    c = client()
    c.last_response = None
    try:
        result = c.notify(
            fcm_token=message.token,
            notification_title=message.title,
            notification_body=message.body,
            data_payload={k: str(v) for k, v in message.data.items()},
            android_config={"collapse_key": message.collapse_key, "priority": "high"},
            apns_config={
                "headers": {"apns-collapse-id": message.collapse_key[:64], "apns-priority": "10"}
            },
            timeout=SEND_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise Retryable(f"FCM unreachable: {exc.__class__.__name__}: {exc}") from exc
    except google.auth.exceptions.TransportError as exc:
        raise Retryable(f"OAuth token endpoint unreachable: {exc}") from exc
    except google.auth.exceptions.RefreshError as exc:
        # A 5xx from the token endpoint may pass; a refused service account will not.
        kind = Retryable if getattr(exc, "retryable", False) else Permanent
        raise kind(f"OAuth access token refused: {exc}") from exc
    except FCMNotRegisteredError as exc:
        raise TokenInvalid(_describe(c.last_response, "token not registered")) from exc
    except FCMServerError as exc:
        response = c.last_response
        raise Retryable(_describe(response, str(exc)), _retry_after(response)) from exc
    except InvalidDataError as exc:
        response = c.last_response
        if response is not None and response.status_code == 400 and _is_token_error(response):
            raise TokenInvalid(_describe(response, "invalid registration token")) from exc
        raise Permanent(_describe(response, str(exc))) from exc
    except (AuthenticationError, FCMSenderIdMismatchError) as exc:
        raise Permanent(_describe(c.last_response, str(exc))) from exc
    name = result.get("name") if isinstance(result, dict) else None
    if not name:
        raise Retryable("FCM answered without a message name")
    return str(name)


def _error_body(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _is_token_error(response: requests.Response) -> bool:
    """Tell whether a 400 blames the registration token (not our payload)."""
    error = _error_body(response)
    for detail in error.get("details") or []:
        if not isinstance(detail, dict):
            continue
        if detail.get("errorCode") == "UNREGISTERED":
            return True
        for violation in detail.get("fieldViolations") or []:
            if isinstance(violation, dict) and violation.get("field") == "message.token":
                return True
    return "registration token" in str(error.get("message", "")).lower()


def _describe(response: requests.Response | None, fallback: str) -> str:
    if response is None:
        return fallback
    error = _error_body(response)
    codes = [d.get("errorCode") for d in error.get("details") or [] if isinstance(d, dict)] or [
        error.get("status")
    ]
    code = next((c for c in codes if c), "")
    text = error.get("message") or response.reason or fallback
    return f"HTTP {response.status_code} {code}: {text}".replace("  ", " ")[:1000]


def _retry_after(response: requests.Response | None) -> float | None:
    """Return FCM's Retry-After in seconds (delta-seconds or an HTTP date), if any."""
    raw = response.headers.get("Retry-After") if response is not None else None
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(raw) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None
