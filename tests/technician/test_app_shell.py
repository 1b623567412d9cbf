"""The app's shell, manifest and service worker as the browser receives them."""

from __future__ import annotations


def test_the_shell_loads_only_its_own_scripts_and_installs(client):
    shell = client.get("/app/")
    assert shell.status_code == 200
    policy = shell.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    html = shell.get_data(as_text=True)
    assert "<script>" not in html and " on" not in html.replace(" one", "")
    assert 'rel="manifest" href="/app/manifest.webmanifest"' in html

    manifest = client.get("/app/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    body = manifest.get_json(force=True)
    assert body["start_url"] == "/app/" and body["display"] == "standalone"
    sizes = {icon["sizes"] for icon in body["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in body["icons"]:
        with client.get(icon["src"]) as image:
            assert image.status_code == 200 and image.mimetype == "image/png"


def test_the_service_worker_covers_the_app_and_keeps_every_shell_file(client):
    worker = client.get("/app/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache"  # a deploy reaches phones at once
    # The worker's own policy lets it fetch this origin (the default for scripts does not).
    assert "default-src 'self'" in worker.headers["Content-Security-Policy"]
    script = worker.get_data(as_text=True)
    for path in ("/app/", "/static/app/main.js", "/static/app/vendor/idb/index.js"):
        assert f'"{path}"' in script
        with client.get(path) as response:
            assert response.status_code == 200
