"""PKCE (RFC 7636) verifier and S256 challenge, and the random `state` value for redirects."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field


def make_verifier() -> str:
    """A code_verifier: 32 random octets, base64url without padding (43 characters, RFC 7636 §4.1)."""
    return secrets.token_urlsafe(32)


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_state() -> str:
    """A fresh, unguessable `state` for one authorization request (never the verifier, which must stay private)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class PkcePair:
    """One attempt's verifier (kept back-channel) and its S256 challenge (sent through the browser)."""

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"

    @classmethod
    def new(cls) -> "PkcePair":
        verifier = make_verifier()
        return cls(verifier=verifier, challenge=s256_challenge(verifier))
