"""Make untrusted text safe for the terminal (a minimal stand-in; engineer h16a's module replaces it at merge).

C0 and C1 control characters other than newline and tab, and escape sequences, are replaced by a visible
U+FFFD; bidi override and isolate characters are removed.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str) -> str:
    """`text` without control or escape sequences (except \\n and \\t) and without bidi overrides."""
    return _BIDI.sub("", _CONTROLS.sub("\ufffd", _ESCAPES.sub("\ufffd", text)))
