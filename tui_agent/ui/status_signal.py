"""One app-level Textual signal that carries every credential status the service publishes to every widget.

Widgets subscribe with `status_signal(app, service).subscribe(widget, callback)`; Textual drops a widget's
subscription when it is removed, so nothing unsubscribes by hand. Works on any App (tests host screens in their own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.signal import Signal

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
