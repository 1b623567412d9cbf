"""Send a stored file: private caching, no sniffing, active content only as a download.

The device API and the portal serve the same files. Both go through here so that a file a
dispatcher uploaded as HTML or SVG can never run in the portal's origin, a shared cache
never keeps a customer's document, and a ``Range`` header is read as RFC 9110 says.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, request, send_file

# Raster images render without running anything; every other type downloads.
INLINE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# A file opened on its own may show itself, nothing else: no script, no frame, no form.
FILE_CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def range_not_satisfiable(size: int) -> bool:
    """Drop a Range header the server must ignore; tell whether the one left cannot be met.

    RFC 9110 §14.2: a server ignores a Range header it does not understand (another unit,
    garbage) and may ignore one with several ranges; the answer is then the whole file,
    200. Only one byte range outside the file earns 416.
    """
    if "HTTP_RANGE" not in request.environ:
        return False
    parsed = request.range
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        request.environ.pop("HTTP_RANGE", None)
        return False
    return parsed.range_for_length(size) is None


def send_stored(path: Path, mimetype: str, name: str, etag: str, inline: bool) -> Response:
    """Send ``path`` (Range, ETag) inline only when asked and safe to render, else as a file."""
    mimetype = (mimetype or "application/octet-stream").lower()
    response = send_file(
        path,
        mimetype=mimetype,
        as_attachment=not (inline and mimetype in INLINE_TYPES),
        download_name=name,
        conditional=True,
        etag=etag,
        max_age=0,
    )
    # Only the user's own browser or phone may keep a copy, and it asks again each time:
    # the ETag makes that a 304 without the body, and a revoked sign-in takes effect at once.
    # None removes a directive (werkzeug types these as bool and int only).
    response.cache_control.public = None  # type: ignore[assignment]
    response.cache_control.max_age = None
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.headers.pop("Expires", None)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = FILE_CSP
    return response
