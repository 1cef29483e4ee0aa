"""OAuth login flows: endpoint discovery, the RFC 8628 device flow, authorization code + PKCE, and the terminal driver.

The flow classes know nothing about terminals or widgets; `terminal.login_in_terminal` is one driver of
them and a Textual login screen can be another.
"""

from tui_agent.auth.oauth._common import LoginCancelled, TokenSet, credential_from_tokens, id_token_identity
from tui_agent.auth.oauth.device import DeviceAuthorization, DeviceFlow, PollTick
from tui_agent.auth.oauth.discovery import OAuthEndpoints, clear_discovery_cache, resolve_endpoints
from tui_agent.auth.oauth.loopback import LoopbackListener, RedirectResult
from tui_agent.auth.oauth.pkce import PkcePair, make_state, make_verifier, s256_challenge
from tui_agent.auth.oauth.pkce_flow import KeyResult, PkceFlow, browser_available

__all__ = [
    "DeviceAuthorization",
    "DeviceFlow",
    "KeyResult",
    "LoginCancelled",
    "LoopbackListener",
    "OAuthEndpoints",
    "PkceFlow",
    "PkcePair",
    "PollTick",
    "RedirectResult",
    "TokenSet",
    "browser_available",
    "clear_discovery_cache",
    "credential_from_tokens",
    "id_token_identity",
    "login_in_terminal",
    "make_state",
    "make_verifier",
    "resolve_endpoints",
    "s256_challenge",
]


def __getattr__(name: str):
    # The terminal driver pulls in threading/webbrowser glue that a Textual screen never needs.
    if name == "login_in_terminal":
        from tui_agent.auth.oauth.terminal import login_in_terminal

        return login_in_terminal
    raise AttributeError(name)
