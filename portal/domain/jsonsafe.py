"""Parse untrusted JSON text safely: its nesting depth is checked before the parser sees it.

Python's JSON parser recurses once per level, so a few thousand ``[`` in a request body end
in a RecursionError deep inside the parser. Counting brackets outside strings first costs one
regular-expression pass and refuses such a body with a clear message instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32  # a device action or an edited payload never needs more

# A JSON string literal (with escapes), or one bracket. Scanning left to right, this sees
# brackets exactly where the JSON tokenizer would, for every valid prefix of the text.
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class JsonError(ValueError):
    """The text is not acceptable JSON; ``code`` is ``malformed`` or ``too_deep``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def too_deep(text: str, max_depth: int) -> bool:
    """Tell whether arrays and objects in ``text`` nest deeper than ``max_depth``."""
    level = 0
    for match in _TOKENS.finditer(text):
        level += _STEP.get(match.group(), 0)
        if level > max_depth:
            return True
    return False


def loads(text: str | bytes, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text``; raise JsonError when it is not JSON or nests deeper than ``max_depth``."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonError("malformed", "The body is not valid UTF-8.") from None
    if too_deep(text, max_depth):
        raise JsonError(
            "too_deep", f"The JSON nests arrays or objects more than {max_depth} levels deep."
        )
    try:
        return json.loads(text)
    except RecursionError:  # a backstop: the depth check above should make this unreachable
        raise JsonError("too_deep", "The JSON nests too deeply.") from None
    except ValueError as exc:
        raise JsonError("malformed", f"Not valid JSON: {exc}") from None
