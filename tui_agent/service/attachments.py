"""Files put into a prompt: `@PATH` tokens and `/attach PATH`, read, checked against the caps, and composed.

A token is an attachment when it starts with `@./`, `@../`, `@/` or `@~/`, or when it names an existing file
relative to the working directory; any other `@word` stays text, and `@@` writes a literal `@`. Text files
are sent as a fenced block headed by the file name; PNG, JPEG, WebP and GIF images as image parts (their
type is read from the file's first bytes, not its name). Images sent are kept once per content hash under
the data directory, so history rows name them instead of carrying them.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from tui_agent.errors import UsageError
from tui_agent.core.chat import ImagePart

log = logging.getLogger("tui_agent.service.attachments")

# The caps (README: "Attachments"). Anthropic refuses images over 5 MB; text beyond a few hundred KB is
# more than most context windows hold.
MAX_ATTACHMENTS = 10
MAX_TEXT_BYTES = 256 * 1024
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024

# Magic numbers: the file's own first bytes decide, so a renamed file is neither refused nor mis-sent.
_IMAGE_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
_EXPLICIT_PREFIXES = ("./", "../", "/", "~/")
# Where a token may start: the start of the text or after whitespace (so `me@example.com` stays text).
_TOKEN = re.compile(r"(?<!\S)@(\S+)")
_TRAILING_PUNCTUATION = ",.;:!?)]}'\""
# Languages for the fence's info string, by extension (a hint for the model's reading; absent when unknown).
_LANGUAGES = {
    "py": "python", "js": "javascript", "ts": "typescript", "rs": "rust", "go": "go", "rb": "ruby",
    "java": "java", "c": "c", "h": "c", "cpp": "cpp", "sh": "sh", "md": "markdown", "json": "json",
    "toml": "toml", "yaml": "yaml", "yml": "yaml", "html": "html", "css": "css", "sql": "sql",
}


class AttachmentError(UsageError):
    """A file cannot be attached; the message is one sentence naming it and why."""


@dataclass(frozen=True)
class Attachment:
    """One file read for sending: a text file's text, or an image's bytes and media type."""

    path: Path
    name: str  # as the user wrote it (shown on chips and above the fenced block)
    kind: Literal["text", "image"]
    size: int
    text: str = ""
    media_type: str = ""
    data: bytes = b""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data if self.kind == "image" else self.text.encode("utf-8")).hexdigest()

    def image_part(self) -> ImagePart:
        return ImagePart(self.media_type, base64.b64encode(self.data).decode("ascii"))


@dataclass(frozen=True)
class Prepared:
    """A prompt ready to send: what the user wrote (`text`), what goes on the wire (`content`), the files."""

    text: str
    content: str
    attachments: tuple[Attachment, ...]

    @property
    def images(self) -> tuple[Attachment, ...]:
        return tuple(a for a in self.attachments if a.kind == "image")


# --- reading -----------------------------------------------------------------------------------------------


def image_type(head: bytes) -> str | None:
    """The media type of a PNG, JPEG, GIF or WebP file from its first bytes; None for anything else."""
    for signature, media_type in _IMAGE_SIGNATURES:
        if head.startswith(signature):
            return media_type
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def working_dir() -> Path:
    """Where relative paths start: the working directory, or the home directory when it has been deleted."""
    try:
        return Path.cwd()
    except OSError:
        return Path.home()


def resolve_path(name: str, cwd: Path) -> Path:
    """`~/x` under the home directory, a relative path under `cwd`."""
    path = Path(os.path.expanduser(name))
    return path if path.is_absolute() else cwd / path


def read_attachment(name: str, cwd: Path) -> Attachment:
    """Read one file for sending; raises AttachmentError (one sentence) when it cannot be attached."""
    path = resolve_path(name, cwd)
    if not _exists(path):
        raise AttachmentError(f"Cannot attach {name}: there is no such file.")
    if path.is_dir():
        raise AttachmentError(f"Cannot attach {name}: it is a directory; attach the files in it one by one.")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(16)
            media_type = image_type(head)
            limit = MAX_IMAGE_BYTES if media_type else MAX_TEXT_BYTES
            if size > limit:
                raise AttachmentError(
                    f"Cannot attach {name}: it is {_size(size)}, over the {_size(limit)} limit for "
                    f"{'an image' if media_type else 'a text file'}."
                )
            data = head + handle.read(limit + 1 - len(head))
    except OSError as exc:
        raise AttachmentError(f"Cannot attach {name}: {exc.strerror or 'it cannot be read'}.") from None
    if len(data) > limit:  # the file grew while we read it
        raise AttachmentError(f"Cannot attach {name}: it is over the {_size(limit)} limit.")
    if media_type:
        return Attachment(path, name, "image", len(data), media_type=media_type, data=data)
    if b"\x00" in data:
        raise AttachmentError(
            f"Cannot attach {name}: it is a binary file; only text files and PNG, JPEG, WebP or GIF images can be sent."
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AttachmentError(f"Cannot attach {name}: it is not UTF-8 text (nor a PNG, JPEG, WebP or GIF image).") from None
    return Attachment(path, name, "text", len(data), text=text.removeprefix("\ufeff"))


def check_caps(attachments: Sequence[Attachment]) -> None:
    """Raise AttachmentError when there are too many attachments or they are too large together."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise AttachmentError(f"Too many attachments ({len(attachments)}); at most {MAX_ATTACHMENTS} go with one prompt.")
    total = sum(a.size for a in attachments)
    if total > MAX_TOTAL_BYTES:
        raise AttachmentError(f"The attachments come to {_size(total)}, over the {_size(MAX_TOTAL_BYTES)} limit for one prompt.")


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{max(1, round(n / 1024))} KB"


# --- the prompt --------------------------------------------------------------------------------------------


def is_explicit(word: str) -> bool:
    """Whether a token's text (after the `@`) is meant as a path whatever is on disk."""
    return word.startswith(_EXPLICIT_PREFIXES)


def find_tokens(text: str, cwd: Path) -> list[tuple[int, int, str]]:
    """The attachment tokens of a prompt as (start, end, path) spans; `@@` and other `@words` are not tokens."""
    found = []
    for match in _TOKEN.finditer(text):
        word = match.group(1)
        if word.startswith("@"):
            continue  # `@@…`: a literal `@`
        end = match.end()
        if not is_explicit(word):
            trimmed = word.rstrip(_TRAILING_PUNCTUATION)
            if _is_file(word, cwd):
                pass
            elif trimmed and _is_file(trimmed, cwd):
                end -= len(word) - len(trimmed)
                word = trimmed
            else:
                continue  # an e-mail handle, a decorator, a mention: text
        elif not _exists(resolve_path(word, cwd)):
            trimmed = word.rstrip(_TRAILING_PUNCTUATION)
            if trimmed != word and _exists(resolve_path(trimmed, cwd)):
                end -= len(word) - len(trimmed)
                word = trimmed
        found.append((match.start(), end, word))
    return found


def _exists(path: Path) -> bool:
    """Path.exists without its exceptions: a name too long or holding a NUL byte does not exist either."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _is_file(word: str, cwd: Path) -> bool:
    try:
        return (cwd / word).is_file()
    except (OSError, ValueError):
        return False


def prepare(text: str, attached: Sequence[Attachment] = (), *, cwd: Path | None = None) -> Prepared:
    """Read the prompt's `@PATH` tokens, add the files attached with /attach, check the caps, compose.

    Raises AttachmentError (one sentence) for a path that cannot be attached; nothing is sent then.
    """
    cwd = working_dir() if cwd is None else cwd
    tokens = find_tokens(text, cwd)
    files = [read_attachment(path, cwd) for _start, _end, path in tokens]
    files += attached
    check_caps(files)
    shown = _unescape(text, tokens)
    return Prepared(text=shown, content=compose(shown, files), attachments=tuple(files))


def _unescape(text: str, tokens: list[tuple[int, int, str]]) -> str:
    """The text with each token's `@` dropped (the file is named above its block) and `@@` made `@`."""
    starts = {start for start, _end, _path in tokens}
    out, i = [], 0
    while i < len(text):
        if i in starts:
            i += 1
            continue
        if text.startswith("@@", i) and (i == 0 or text[i - 1].isspace()):
            out.append("@")
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def compose(text: str, attachments: Sequence[Attachment]) -> str:
    """The text, then each text attachment as a fenced block headed by its file name."""
    parts = [text] if text else []
    for attachment in attachments:
        if attachment.kind == "text":
            parts.append(fenced(attachment.name, attachment.text))
    return "\n\n".join(parts)


def fenced(name: str, text: str) -> str:
    """A Markdown fence longer than any backtick run inside, so the file's own fences cannot end it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    language = _LANGUAGES.get(Path(name).suffix.lstrip(".").lower(), "")
    return f"{name}:\n{fence}{language}\n{text.rstrip(chr(10))}\n{fence}"


def refusal(adapter_kind: str, prepared: Prepared) -> str | None:
    """Why this back-end cannot take these attachments (one sentence), or None when it can."""
    if prepared.images and adapter_kind == "claude-cli":
        from tui_agent.providers.claude_cli import IMAGES_REFUSED

        return IMAGES_REFUSED
    return None


# --- completion ------------------------------------------------------------------------------------------


def complete_path(partial: str, cwd: Path, *, limit: int = 50) -> list[str]:
    """Paths an `@partial` could become: entries of its directory starting with its last part, dirs with `/`."""
    head, _sep, stem = partial.rpartition("/")
    directory = resolve_path(head + "/" if head or partial.startswith("/") else ".", cwd)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except (OSError, ValueError):
        return []
    out = []
    for entry in entries:
        if not entry.name.startswith(stem) or (entry.name.startswith(".") and not stem.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        prefix = f"{head}/" if head or partial.startswith("/") else ""
        out.append(f"{prefix}{entry.name}{'/' if is_dir else ''}")
        if len(out) >= limit:
            break
    return out


# --- storage -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredImage:
    """An image a history row names: its content hash, media type and the name it was attached as."""

    sha256: str
    media_type: str
    name: str
    size: int

    @property
    def file_name(self) -> str:
        return f"{self.sha256}.{_EXTENSIONS.get(self.media_type, 'bin')}"


class ImageStore:
    """Images sent, one file per content hash under `directory` (written once, atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def put(self, attachment: Attachment) -> StoredImage:
        stored = StoredImage(attachment.sha256, attachment.media_type, attachment.name, attachment.size)
        path = self.directory / stored.file_name
        if not path.exists():
            # Private like history.db: what a conversation carried is nobody else's to read.
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(attachment.data)
            os.replace(tmp, path)
        return stored

    def part(self, stored: StoredImage) -> ImagePart | None:
        """The image for a request again (a reopened conversation); None, with a log line, when it is gone."""
        try:
            data = (self.directory / stored.file_name).read_bytes()
        except OSError as exc:
            log.warning("attached image %s (%s) is missing from %s: %s", stored.name, stored.sha256, self.directory, exc)
            return None
        return ImagePart(stored.media_type, base64.b64encode(data).decode("ascii"))
