"""Keep what someone typed into a form that could not be taken (signed out, expired form).

The values wait in the session until the next page is shown; ``static/js/forms.js`` puts
them back into the form with the same action, so nothing typed is lost to a sign-in.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from flask import request, session

KEY = "form_draft"
# The session is a cookie: a draft too large for one is not kept (the page says so instead).
MAX_CHARS = 2500


def origin_page() -> str | None:
    """Return the local path of the page the form was sent from, or None (another site)."""
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if not referrer or parts.netloc != request.host or parts.scheme not in ("http", "https"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def keep() -> bool:
    """Keep the posted form's values (never its token); return whether they fit."""
    values = [[k, v] for k, v in request.form.items(multi=True) if k != "csrf_token"]
    if not values:
        return False
    draft = {"action": request.path, "values": values}
    if len(json.dumps(draft)) > MAX_CHARS:
        return False
    session[KEY] = draft
    return True


def take() -> dict | None:
    """Return and forget the kept draft; a page's live refresh leaves it for the page itself."""
    if request.headers.get("X-Requested-With") == "live" or KEY not in session:
        return None
    return session.pop(KEY, None)
