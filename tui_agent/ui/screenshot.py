"""The palette's Screenshot: an SVG of the screen, saved in Downloads when it exists, else in the data folder."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui_agent.ui.app import TuiAgentApp

log = logging.getLogger("tui_agent.ui")


def downloads_dir() -> Path:
    """The user's Downloads folder as the desktop names it (it need not exist)."""
    from platformdirs import user_downloads_path

    return user_downloads_path()


def save_screenshot(app: "TuiAgentApp") -> Path | None:
    """Write the screen as SVG and say where; Textual's own command failed when ~/Downloads did not exist.

    Downloads is used only when it is already there (a folder is never made in the user's home for this);
    otherwise the app's data folder, whose `screenshots` folder is made as needed."""
    from textual.app import generate_datetime_filename

    svg = app.export_screenshot()
    name = generate_datetime_filename(app.title, ".svg")
    downloads = downloads_dir()
    folders = ([downloads] if downloads.is_dir() else []) + [app.paths.data_dir / "screenshots"]
    problem = ""
    for folder in folders:
        target = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(svg, encoding="utf-8")
        except OSError as exc:
            log.warning("could not save a screenshot in %s: %s", folder, exc)
            problem = exc.strerror or type(exc).__name__
            continue
        app.notify(f"Screenshot saved to {target}.", markup=False)
        return target
    app.notify(f"The screenshot could not be saved ({problem}).", severity="error", markup=False)
    return None
