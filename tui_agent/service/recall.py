"""Prompt recall that survives restarts: the prompts and slash commands sent, newest first, in the data dir.

The file is the app's own convenience: written atomically, bounded in entries and in entry size, and a
damaged one is ignored with a log line (and replaced on the next write), never an error. A line that looks
like a secret (an API key pasted by mistake, a bearer token) is never written to it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from pathlib import Path

from tui_agent.redact import redact_text

log = logging.getLogger("tui_agent.service.recall")

MAX_ENTRIES = 1000
MAX_ENTRY_CHARS = 4_000  # a longer prompt (a pasted file) is recalled in its own run only: the file stays small
_FORMAT = "tui-agent-prompt-recall"

# A one-word line of 32+ key-alphabet characters with both letters and digits: the shape of a bare key or
# token (Google's `AIza…`, a hex secret, a JWT) that the named shapes in redact.py do not cover.
_BARE_TOKEN = re.compile(r"[A-Za-z0-9_\-.+/=]{32,}")


def looks_like_secret(text: str) -> bool:
    """Whether any line of `text` holds something that must not be kept on disk."""
    if redact_text(text) != text:  # registered secrets, `sk-…` keys, credential headers, bearer tokens
        return True
    for line in text.splitlines():
        word = line.strip()
        if _BARE_TOKEN.fullmatch(word) and re.search(r"[A-Za-z]", word) and re.search(r"\d", word):
            return True
    return False


class PromptRecall:
    """The recall list on disk: `entries` is newest first."""

    def __init__(self, path: Path, *, limit: int = MAX_ENTRIES) -> None:
        self.path = Path(path)
        self.limit = limit
        self.entries: list[str] = []

    def load(self) -> list[str]:
        """Read the file (a missing, unreadable or malformed one reads as empty); returns newest first."""
        self.entries = []
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("ignoring unreadable prompt recall file %s: %s", self.path, exc)
            return []
        try:
            data = json.loads(raw)
            prompts = data["prompts"] if isinstance(data, dict) and data.get("format") == _FORMAT else None
            if not isinstance(prompts, list):
                raise ValueError("not a prompt recall file")
        except (ValueError, KeyError) as exc:
            log.warning("ignoring damaged prompt recall file %s: %s", self.path, exc)
            return []
        kept = [p for p in prompts if isinstance(p, str) and p and not looks_like_secret(p)]
        self.entries = kept[: self.limit]
        return list(self.entries)

    def add(self, text: str) -> bool:
        """Put `text` first (moving an earlier copy) and save; False when it is not kept on disk."""
        if not text.strip() or len(text) > MAX_ENTRY_CHARS or looks_like_secret(text):
            return False
        self.entries = [text, *(e for e in self.entries if e != text)][: self.limit]
        self._save()
        return True

    def _save(self) -> None:
        document = {"format": _FORMAT, "version": 1, "prompts": self.entries}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".prompts-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(document, handle, ensure_ascii=False)
                os.chmod(tmp, 0o600)  # prompts are private text
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:  # a full disk must not cost the user their prompt: recall is a convenience
            log.warning("could not save prompt recall to %s: %s", self.path, exc)

