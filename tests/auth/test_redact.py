"""Redaction: the display mask, the text scrubber and the logging filter keep secrets out of logs and errors."""

from __future__ import annotations

import io
import logging
import secrets

import pytest

from tui_agent import redact
from tui_agent.redact import SecretRedactingFilter, mask, redact_text, register_secret


@pytest.fixture(autouse=True)
def _clean_registry():
    yield
    redact._forget_all_for_tests()


def _token(prefix: str = "tok-") -> str:
    return prefix + secrets.token_urlsafe(24)


def _logger_with_filter(name: str) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(SecretRedactingFilter())
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, out


def test_mask_shows_first_six_and_last_four_characters():
    assert mask("sk-ant-api03-abcdefghijkl1234") == "sk-ant…1234"
    assert mask("short-secret") == "••••••"
    assert mask("") == "" and mask(None) == ""


def test_registered_secret_is_removed_wherever_it_appears():
    secret = _token()
    register_secret(secret)
    text = redact_text(f"request failed with token {secret} (retrying {secret}!)")
    assert secret not in text
    assert text == "request failed with token [redacted] (retrying [redacted]!)"


def test_values_too_short_to_be_secrets_are_not_registered():
    register_secret("gpt")  # redacting every "gpt" would garble logs and protect nothing
    assert redact_text("model gpt-4o") == "model gpt-4o"


@pytest.mark.parametrize(
    "line",
    [
        "Authorization: Bearer {v}",
        "authorization=Bearer {v}",
        "x-api-key: {v}",
        "api-key: {v}",
        "{{'authorization': 'Bearer {v}', 'accept': 'application/json'}}",
        '{{"x-api-key": "{v}", "accept": "application/json"}}',
        "grant_type=refresh_token&refresh_token={v}&client_id=tui-agent",
        '{{"access_token": "{v}", "token_type": "Bearer"}}',
        "[(b'api-key', b'{v}'), (b'accept', b'*/*')]",
        "[('authorization', 'Bearer {v}')]",
    ],
)
def test_credential_header_and_token_values_are_removed_even_when_never_registered(line):
    value = secrets.token_urlsafe(20)
    text = redact_text(line.format(v=value))
    assert value not in text
    assert "[redacted]" in text


def test_key_shaped_strings_are_removed_and_ordinary_text_is_kept():
    key = "sk-proj-" + secrets.token_urlsafe(30)
    assert redact_text(f"using {key} now") == "using [redacted] now"
    plain = "HTTP 200 from https://api.openai.com/v1/models in 0.3 s; 12 models"
    assert redact_text(plain) == plain


def test_logging_filter_removes_secrets_from_message_and_args():
    secret = _token()
    register_secret(secret)
    logger, out = _logger_with_filter("tui_agent.test.redact.args")
    logger.info("sending %s to %s", secret, "api.example.com")
    logger.debug("headers: %r", {"Authorization": "Bearer abcdefgh12345678"})
    logger.warning(f"inline {secret}")
    text = out.getvalue()
    assert secret not in text and "abcdefgh12345678" not in text
    assert "sending [redacted] to api.example.com" in text
    assert text.count("[redacted]") == 3


def test_logging_filter_removes_secrets_from_tracebacks():
    secret = _token()
    register_secret(secret)
    logger, out = _logger_with_filter("tui_agent.test.redact.exc")
    try:
        raise RuntimeError(f"server echoed {secret}")
    except RuntimeError:
        logger.exception("refresh failed")
    text = out.getvalue()
    assert "RuntimeError: server echoed [redacted]" in text
    assert secret not in text


def test_logging_filter_keeps_a_record_with_a_broken_format_string():
    secret = _token()
    register_secret(secret)
    logger, out = _logger_with_filter("tui_agent.test.redact.broken")
    logger.info("two placeholders %s %s", secret)  # one argument short
    text = out.getvalue()
    assert "two placeholders" in text and secret not in text


@pytest.mark.parametrize(
    "text, expected",
    [
        ("http://bob:hunter22@host/v1", "http://•••@host/v1"),
        ("see https://bob@h:8080/x and ftp://u:p@f/", "see https://•••@h:8080/x and ftp://•••@f/"),
        ("mail bob@example.com, http://host/a@b", "mail bob@example.com, http://host/a@b"),
    ],
)
def test_url_userinfo_is_masked(text, expected):
    from tui_agent.redact import mask_url_userinfo

    assert mask_url_userinfo(text) == expected
    assert redact_text(text) == expected


def test_url_masking_is_linear_on_a_long_word():
    from tui_agent.redact import mask_url_userinfo

    word = "a" * 200_000 + "://x@y"
    assert mask_url_userinfo(word).endswith("://•••@y")

