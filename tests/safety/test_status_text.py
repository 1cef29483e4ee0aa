"""Status records shown by every front-end carry no terminal controls, whatever their source said."""

from __future__ import annotations


def test_a_credential_status_never_carries_terminal_controls():
    from tui_agent.core.credentials import CredentialState, CredentialStatus

    status = CredentialStatus("p", "api-key", CredentialState.ERROR, identity="me\x1b]0;x\x07@example.com", detail="bad\x1b[2J\nthing")
    assert (status.identity, status.detail) == ("me@example.com", "bad␤thing")
    assert status.with_(detail="\u202eevil").detail == "evil"
