"""One app-level Textual signal that carries every credential status the service publishes to every widget, and the
classes a row showing a status is styled by.

Widgets subscribe with `status_signal(app, service).subscribe(widget, callback)`; Textual drops a widget's
subscription when it is removed, so nothing unsubscribes by hand. Works on any App (tests host screens in their own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.signal import Signal

from tui_agent.core.credentials import CredentialState

if TYPE_CHECKING:
    from textual.app import App

    from tui_agent.core.credentials import CredentialStatus
    from tui_agent.service.agent import AgentService

_ATTRIBUTE = "_tui_agent_status_signal"


def status_signal(app: "App", service: "AgentService") -> "Signal[CredentialStatus]":
    """The app's status signal, fed by `service` (subscribed once per service)."""
    signal, fed = getattr(app, _ATTRIBUTE, (None, None))
    if signal is None:
        signal, fed = Signal(app, "credential-status"), set()
        setattr(app, _ATTRIBUTE, (signal, fed))
    if id(service) not in fed:
        fed.add(id(service))
        # The service may publish from any thread or task: the app's message queue puts it on the UI's thread.
        service.subscribe(lambda status: app.call_later(signal.publish, status))
    return signal


def state_classes(state: CredentialState | None) -> dict[str, bool]:
    """The classes a row showing `state` has on and off (`-state-<state>`; `-state-checking` for none yet), for
    `update_classes`: set in one batch, a new state restyles the row once, not once per class added or removed."""
    return {**{f"-state-{each.value}": each == state for each in CredentialState}, "-state-checking": state is None}
