"""One place that masks secrets for display and removes them from logs and error text."""

from __future__ import annotations

import functools
import logging
import re
import threading

REDACTED = "[redacted]"

# Shorter values are too likely to be ordinary words or numbers; removing them would garble logs.
_MIN_SECRET_LENGTH = 8

_known: set[str] = set()
_known_lock = threading.Lock()

# Header-like "name: value" / "name=value" pairs whose value is a credential, quoted (dict/JSON reprs, and
# the ('name', b'value') tuples of raw header lists) or bare (raw HTTP header lines, form bodies).
_SECRET_NAMES = (
    r"proxy-authorization|authorization|x-api-key|api-key|api_key|apikey|x-goog-api-key"
    r"|access_token|refresh_token|id_token|client_secret|device_code|code_verifier|password"
)


@functools.cache
def _secret_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The quoted and bare credential pairs, bearer tokens and API key shapes, compiled on first use: compiling
    them costs ≈ 1.5 ms, which every start paid before its first frame though most runs never redact."""
    quoted_pair = re.compile(
        rf"""(?P<name>(?P<q>['"])(?:{_SECRET_NAMES})(?P=q)\s*[:=,]\s*b?)(?P<vq>['"])(?P<value>(?:\\.|(?!(?P=vq)).)*)(?P=vq)""",
        re.IGNORECASE,
    )
    bare_pair = re.compile(
        rf"""(?P<name>(?<![\w-])(?:{_SECRET_NAMES})\s*[:=]\s*)(?P<scheme>(?:bearer|basic|token)\s+)?(?P<value>[^\s&,;'"]+)""",
        re.IGNORECASE,
    )
    bearer = re.compile(r"(?P<scheme>\bbearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
    # Well-known API key shapes (Anthropic, OpenAI, OpenRouter and friends), caught even when never registered.
    key_shapes = re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")
    return quoted_pair, bare_pair, bearer, key_shapes


@functools.cache
def _url_userinfo() -> re.Pattern[str]:
    """The user-info part of a URL (`scheme://user:password@host`); the scheme is bounded so a long word costs
    linear time. Compiled on first use, like `_secret_patterns`."""
    return re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{0,30}://)[^/?#\s@]+@")


def mask(secret: str | None) -> str:
    """Show the first 6 and last 4 characters of a secret, or a fixed mask when it is too short to hint at."""
    if not secret:
        return ""
    if len(secret) <= 14:
        return "•" * 6
    return f"{secret[:6]}…{secret[-4:]}"


def mask_url_userinfo(text: str) -> str:
    """`text` with the user name and password of every URL in it replaced by `•••` (`https://•••@host/v1`)."""
    if "://" not in text or "@" not in text:
        return text
    return _url_userinfo().sub(lambda m: f"{m['scheme']}•••@", text)


def register_secret(value: str | None) -> None:
    """Remember a secret so that `redact_text` and the logging filter remove it wherever it appears."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _known_lock:
            _known.add(value)


def redact_text(text: str) -> str:
    """Return `text` with every registered secret, credential header value, URL password and key-shaped string removed."""
    if not text:
        return text
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)  # longest first: a secret may contain another
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    quoted_pair, bare_pair, bearer, key_shapes = _secret_patterns()
    text = quoted_pair.sub(lambda m: f"{m['name']}{m['vq']}{_keep_scheme(m['value'])}{m['vq']}", text)
    text = bare_pair.sub(lambda m: f"{m['name']}{m['scheme'] or ''}{REDACTED}", text)
    text = bearer.sub(lambda m: f"{m['scheme']}{REDACTED}", text)
    text = mask_url_userinfo(text)
    return key_shapes.sub(REDACTED, text)


def _keep_scheme(value: str) -> str:
    scheme, sep, _rest = value.partition(" ")
    if sep and scheme.lower() in ("bearer", "basic", "token"):
        return f"{scheme} {REDACTED}"
    return REDACTED


class SecretRedactingFilter(logging.Filter):
    """A logging filter that removes secrets from a record's message, arguments, traceback and stack text.

    Attach it to handlers (`handler.addFilter(SecretRedactingFilter())`): a filter on a logger does not
    see records that propagate from child loggers.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string: redact the parts one by one rather than lose the record
            message = " ".join([str(record.msg), *(str(a) for a in _args_of(record))])
        record.msg = redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
            # Handlers that render exc_info themselves (rich, for one) would bypass the redacted text.
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def _args_of(record: logging.LogRecord) -> tuple:
    args = record.args
    if args is None:
        return ()
    if isinstance(args, dict):
        return tuple(f"{k}={v}" for k, v in args.items())
    return tuple(args)


def _forget_all_for_tests() -> None:
    """Clear the registry (tests only)."""
    with _known_lock:
        _known.clear()
