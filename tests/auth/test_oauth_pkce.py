"""PKCE (RFC 7636) and `state` values."""

from __future__ import annotations

import re

from tui_agent.auth.oauth.pkce import PkcePair, make_state, make_verifier, s256_challenge

# RFC 7636 Appendix B.
APPENDIX_B_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
APPENDIX_B_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
APPENDIX_B_OCTETS = bytes([
    116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186,
    22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
])


def test_s256_challenge_matches_rfc7636_appendix_b():
    assert s256_challenge(APPENDIX_B_VERIFIER) == APPENDIX_B_CHALLENGE


def test_appendix_b_verifier_is_the_base64url_of_its_octets():
    import base64

    assert base64.urlsafe_b64encode(APPENDIX_B_OCTETS).rstrip(b"=").decode() == APPENDIX_B_VERIFIER


def test_verifier_has_the_length_and_alphabet_rfc7636_requires():
    for _ in range(50):
        verifier = make_verifier()
        assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", verifier)


def test_pair_challenge_is_s256_of_its_verifier_and_repr_hides_the_verifier():
    pair = PkcePair.new()
    assert pair.method == "S256"
    assert pair.challenge == s256_challenge(pair.verifier)
    assert pair.verifier not in repr(pair)


def test_each_attempt_gets_a_fresh_verifier_and_state():
    assert len({make_verifier() for _ in range(20)}) == 20
    states = {make_state() for _ in range(20)}
    assert len(states) == 20
    assert all(len(s) >= 20 for s in states)
