"""The one-line auth summary of the chat header ("auth: 3✓ 1◔ 2○ 1⊘"), light enough for the first frame.

It is drawn from the configured provider ids alone (every state unknown); the service — whose construction
the first frame must not wait for — is asked for the last known states and subscribed to after that frame.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from textual.message import Message
from textual.widgets import Static

from tui_agent.core.credentials import STATE_SYMBOL, CredentialState, CredentialStatus
from tui_agent.ui.status_signal import status_signal

if TYPE_CHECKING:
    from tui_agent.service.agent import AgentService


def summary_text(states: Iterable[CredentialState], failing: int = 0) -> str:
    """The one-line summary for narrow headers: "auth: 3✓ 1◔ 2○ 1⊘" (states in enum order, zeros left out),
    then "· N failing" for providers whose last request failed without changing their state (a 502, a 429)."""
    counts = {state: 0 for state in CredentialState}
    for state in states:
        counts[state] += 1
    parts = [f"{n}{STATE_SYMBOL[state]}" for state, n in counts.items() if n]
    text = "auth: " + (" ".join(parts) if parts else "no providers")
    return text + (f" · {failing} failing" if failing else "")


class StatusSummary(Static):
    """The one-line "auth: 3✓ 1◔ 2○ 1⊘" for the chat header below WIDE_AT columns; a click asks to expand the panel."""

    DEFAULT_CSS = """
    StatusSummary {
        width: auto;
        height: 1;
        padding: 0 1;
    }
    StatusSummary:hover {
        text-style: underline;
    }
    """

    class Clicked(Message):
        """The user clicked the summary: the screen should show the full panel."""

    def __init__(
        self, providers: Iterable[str], service: "Callable[[], AgentService]", *, id: str | None = None, classes: str | None = None
    ) -> None:
        """`providers`: the configured ids; `service`: gives the service, called once the first frame is drawn."""
        super().__init__("", id=id, classes=classes, markup=False)
        self._service = service
        self._states: dict[str, CredentialState] = {pid: CredentialState.UNKNOWN for pid in providers}
        self._failing: set[str] = set()  # providers whose last request failed without changing their state

    @property
    def text(self) -> str:
        return summary_text(self._states.values(), len(self._failing))

    def on_mount(self) -> None:
        self.update(self.text)
        getattr(self.app, "after_first_frame", self.call_after_refresh)(self._follow_service)

    def _follow_service(self) -> None:
        if not self.is_attached:
            return
        service = self._service()
        for pid in self._states:
            last = service.last_status(pid)
            if last is not None:
                self._note(last)
        status_signal(self.app, service).subscribe(self, self._apply)
        self.update(self.text)

    def _apply(self, status: CredentialStatus) -> None:
        if status.provider in self._states:
            self._note(status)
            self.update(self.text)

    def _note(self, status: CredentialStatus) -> None:
        self._states[status.provider] = status.state
        if status.last_failure:
            self._failing.add(status.provider)
        else:
            self._failing.discard(status.provider)

    def on_click(self) -> None:
        self.post_message(self.Clicked())
