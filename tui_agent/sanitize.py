"""Make untrusted text safe for the terminal (minimal stand-in; engineer h16a's module replaces it at merge).

Control characters (C0 and C1) other than newline and tab, and bidi overrides, are replaced by visible
escapes, so text from a server, a file or history can never move the cursor or re-order what is shown.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def sanitize(text: str) -> str:
    """`text` with every control character except \\n and \\t, and every bidi override, made visible."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}", text)
