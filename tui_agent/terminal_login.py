"""`tui-agent login` for OAuth providers: renders a login's steps as prompts on stderr; it decides nothing.

auth/login.py plans and drives the login and AgentService.login stores the result. This is a front-end: it
imports only the vocabulary.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, TextIO

from tui_agent.sanitize import sanitize
from tui_agent.core.login import Failed, LoginPlan, LoginStep, Obtained, OpenUrl, Progress, ShowCode, Tick
from tui_agent.errors import AuthError

if TYPE_CHECKING:
    from tui_agent.core.credentials import StoredCredential


async def render_in_terminal(
    plan: LoginPlan,
    steps: AsyncIterator[LoginStep],
    pasted: "asyncio.Queue[str]",
    *,
    can_open: bool,
    stderr: TextIO,
    stdin: TextIO,
    open_url: Callable[[str], Any] | None = None,
) -> "StoredCredential":
    """Print each step of a login on stderr, feed pasted lines from stdin to the driver; the credential, or raise.

    `can_open`: a browser may be opened here (AgentService.browser_available).
    """
    label = plan.label
    opener = open_url or _open_in_background
    noted: set[str] = set()
    try:
        async for step in steps:
            if isinstance(step, ShowCode):
                _say(stderr, f"To log in to {label}, open {step.url} in a browser and enter the code:")
                _say(stderr, f"\n    {step.code}\n")
                if step.complete_url:
                    _say(stderr, f"(Or open {step.complete_url}, which fills the code in for you.)")
                if can_open and step.openable:
                    opener(step.openable)
                    _say(stderr, "A browser window was opened for you.")
                _say(stderr, f"Waiting for you to finish there; the code is valid for {_minutes(step.expires_in)}. Press Ctrl-C to cancel.")
            elif isinstance(step, OpenUrl):
                _say(stderr, f"To log in to {label}, open this address in a browser:\n\n    {step.url}\n")
                if can_open:
                    opener(step.url)
                    _say(stderr, "A browser window was opened for you.")
                _say(
                    stderr,
                    "Waiting for the browser to come back. If it cannot reach this machine (SSH, a container), "
                    "paste the address it ended on (or the code it shows) here and press Enter. Ctrl-C cancels.",
                )
                _start_line_reader(stdin, asyncio.get_running_loop(), pasted)
            elif isinstance(step, Tick):
                if step.last in ("network error", "server error") and step.last not in noted:
                    noted.add(step.last)
                    _say(stderr, f"({step.last} while checking with {label}; retrying in {int(step.next_poll_in)} s)")
            elif isinstance(step, Progress):
                if step.error:
                    _say(stderr, step.sentence)
            elif isinstance(step, Failed):
                raise step.error
            elif isinstance(step, Obtained):
                _say(stderr, step.sentence)
                return step.credential
    except asyncio.CancelledError:
        _say(stderr, f"Login to {label} cancelled; nothing was stored.")
        raise
    raise AuthError(f"Login to {label} was cancelled; nothing was stored.")


def _start_line_reader(stdin: TextIO, loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str]) -> None:
    # A daemon thread, because a blocked readline() cannot be cancelled and must not keep the process alive.
    def run() -> None:
        while True:
            try:
                line = stdin.readline()
            except (OSError, ValueError):
                line = ""
            try:
                loop.call_soon_threadsafe(lines.put_nowait, line)
            except RuntimeError:  # the loop is gone: the login is over
                return
            if line == "":
                return

    threading.Thread(target=run, name="tui-agent-paste", daemon=True).start()


# --- helpers -----------------------------------------------------------------------------------------------------


def _open_in_background(url: str) -> None:
    # webbrowser.open can block (a text browser, a slow launcher); the login must keep waiting regardless.
    import webbrowser

    threading.Thread(target=webbrowser.open, args=(url,), name="tui-agent-browser", daemon=True).start()


def _minutes(seconds: int) -> str:
    return f"{max(1, round(seconds / 60))} min"


def _say(stderr: TextIO, text: str) -> None:
    print(sanitize(text), file=stderr, flush=True)  # codes, URLs and identities come from servers
