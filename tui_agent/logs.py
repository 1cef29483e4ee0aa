"""Logging set-up: redacted stderr for headless --verbose, a redacted file for the TUI, never the screen."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui_agent.config.paths import Paths

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _redacting_filter() -> logging.Filter | None:
    from tui_agent import redact

    cls = getattr(redact, "SecretRedactingFilter", None)
    return cls() if cls is not None else None


def _install(handler: logging.Handler, level: int) -> None:
    flt = _redacting_filter()
    if flt is not None:
        handler.addFilter(flt)
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("tui_agent").setLevel(level)
    logging.getLogger("httpx").setLevel(logging.INFO if level <= logging.INFO else logging.WARNING)
    logging.captureWarnings(True)


def setup_headless_logging(verbose: bool) -> None:
    """Headless commands: with --verbose, the chain and HTTP exchanges (redacted) go to stderr; else nothing.

    Without --verbose every failure reaches the user as one sentence from cli.main, so log records (and their
    tracebacks) are dropped rather than printed beside it.
    """
    if verbose:
        _install(logging.StreamHandler(sys.stderr), logging.DEBUG)
    else:
        _install(logging.NullHandler(), logging.CRITICAL)


def setup_tui_logging(paths: "Paths", verbose: bool) -> None:
    """The TUI: everything (library output and warnings included) goes to the log file, never over the screen."""
    try:
        paths.state_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(paths.log_file, encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    _install(handler, logging.DEBUG if verbose else logging.INFO)
