"""OAuth login flows: endpoint discovery, the RFC 8628 device flow, authorization code + PKCE.

The flow classes know nothing about terminals or widgets: auth/login.py drives them as typed steps, which the
terminal and the TUI's login screens render.
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
    "make_state",
    "make_verifier",
    "resolve_endpoints",
    "s256_challenge",
]

