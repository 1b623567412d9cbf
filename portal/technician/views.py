"""Serve the app shell, its web app manifest and its service worker."""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache

from flask import Response, current_app, render_template, url_for

from portal.security import PAGE_POLICY, csp_nonce
from portal.technician import bp

APP_VERSION = "1.0"
# Files the service worker keeps so that the app opens without a network.
SHELL_FILES = (
    "app/app.css",
    "app/main.js",
    "app/api.js",
    "app/store.js",
    "app/outbox.js",
    "app/sync.js",
    "app/network.js",
    "app/format.js",
    "app/views.js",
    "app/push.js",
    "app/job_view.js",
    "app/vendor/idb/index.js",
    "app/icon-192.png",
    "app/icon-512.png",
)
PUSH_PROVIDER = "app/push-provider.js"
# The app shows photos and attachments from IndexedDB through blob: URLs.
APP_POLICY = PAGE_POLICY.replace("img-src 'self' data:", "img-src 'self' data: blob:")
# The worker's own policy: it may fetch this origin only.
WORKER_POLICY = "default-src 'self'; frame-ancestors 'none'"


@cache
def _build(static_folder: str) -> str:
    """Return a short digest of the shell's files: a new deploy means a new cache."""
    digest = hashlib.sha256(APP_VERSION.encode())
    for name in SHELL_FILES + ("../templates/technician/shell.html",):
        path = os.path.join(static_folder, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:12]


def build_id() -> str:
    return _build(current_app.static_folder or "")


def push_provider_url() -> str:
    """Return the URL of the deployment's web push module, or "" when push is not set up.

    The module (see the README, "Web push") exports ``getToken(registration)`` and answers
    the FCM registration token of this browser. ``TECHNICIAN_PUSH_PROVIDER`` may name it;
    otherwise ``static/app/push-provider.js`` is used when the deployment added one.
    """
    configured = current_app.config.get("TECHNICIAN_PUSH_PROVIDER")
    if configured:
        return str(configured)
    if os.path.isfile(os.path.join(current_app.static_folder or "", PUSH_PROVIDER)):
        return url_for("static", filename=PUSH_PROVIDER)
    return ""


@bp.get("/")
def shell():
    """Serve the app's one page; the scripts draw every screen."""
    html = render_template(
        "technician/shell.html",
        app_version=APP_VERSION,
        build=build_id(),
        push_provider=push_provider_url(),
    )
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = APP_POLICY.format(nonce=csp_nonce())
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """Describe the app for installing it on a phone's home screen."""
    body = {
        "name": "Fieldsync technician",
        "short_name": "Fieldsync",
        "id": url_for("technician.shell"),
        "start_url": url_for("technician.shell"),
        "scope": url_for("technician.shell"),
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#0b3d91",
        "icons": [
            {
                "src": url_for("static", filename=f"app/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any",
            }
            for size in (192, 512)
        ],
    }
    return Response(json.dumps(body), mimetype="application/manifest+json")


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker from /app/ so that its scope covers the app."""
    shell_urls = [url_for("technician.shell")] + [
        url_for("static", filename=name) for name in SHELL_FILES
    ]
    script = render_template(
        "technician/sw.js", build=build_id(), shell_urls=shell_urls, app_version=APP_VERSION
    )
    response = Response(script, mimetype="text/javascript")
    response.headers["Content-Security-Policy"] = WORKER_POLICY
    response.headers["Cache-Control"] = "no-cache"
    return response
