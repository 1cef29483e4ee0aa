"""The shared failure handling in providers/_http.py: headers, retry timing, and failures as one sentence."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from tui_agent.core.credentials import NO_CREDENTIAL, Credential
from tui_agent.providers import _http

from .conftest import make_provider

URL = "https://api.example.com/v1/chat/completions"


def provider(kind="openai-chat", **fields):
    return make_provider(kind, "https://api.example.com/v1", **fields)


@pytest.mark.parametrize("kind, credential, expected", [
    ("anthropic-messages", Credential("api-key", "k1"), {"x-api-key": "k1"}),
    ("anthropic-messages", Credential("bearer", "t1"), {"Authorization": "Bearer t1"}),
    ("openai-chat", Credential("api-key", "k2"), {"Authorization": "Bearer k2"}),
    ("openai-chat", Credential("bearer", "t2"), {"Authorization": "Bearer t2"}),
    ("ollama", NO_CREDENTIAL, {}),
])
def test_auth_header_per_wire_kind_and_credential_kind(kind, credential, expected):
    assert _http.auth_headers(provider(kind), credential) == expected


def test_a_provider_key_header_overrides_the_default_but_not_for_tokens():
    azure = provider(api_key_header="api-key")
    assert _http.auth_headers(azure, Credential("api-key", "k")) == {"api-key": "k"}
    assert _http.auth_headers(azure, Credential("bearer", "t")) == {"Authorization": "Bearer t"}


def test_provider_headers_cannot_replace_the_credential():
    p = provider(headers={"Authorization": "Bearer smuggled", "X-Title": "tui-agent"})
    headers = _http.request_headers(p, Credential("api-key", "real"), {"accept": "text/event-stream"})
    assert headers["Authorization"] == "Bearer real" and headers["X-Title"] == "tui-agent"


def test_backoff_doubles_up_to_the_cap_and_honours_a_short_retry_after():
    policy = _http.RetryPolicy(jitter=lambda: 0.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert policy.delay(1, 3.5) == 3.5
    assert policy.delay(1, 600) == 0.5  # an absurd retry-after is ignored, as the SDKs do
    assert _http.RetryPolicy(jitter=lambda: 1.0).delay(1, None) == 0.375


def test_retry_after_reads_seconds_milliseconds_and_dates():
    assert _http.parse_retry_after(httpx.Headers({"retry-after": "12"})) == 12.0
    assert _http.parse_retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "9"})) == 1.5
    date = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= _http.parse_retry_after(httpx.Headers({"retry-after": date})) <= 31
    assert _http.parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None


def test_retry_decision_follows_x_should_retry_and_never_retries_a_spent_quota():
    assert _http.should_retry(503, httpx.Headers(), "")
    assert _http.should_retry(408, httpx.Headers(), "")
    assert not _http.should_retry(400, httpx.Headers(), "")
    assert not _http.should_retry(503, httpx.Headers({"x-should-retry": "false"}), "")
    assert _http.should_retry(400, httpx.Headers({"x-should-retry": "true"}), "")
    assert not _http.should_retry(429, httpx.Headers(), '{"error":{"code":"insufficient_quota"}}')


@pytest.mark.parametrize("body, fragment", [
    ('{"error": {"message": "Incorrect API key", "type": "invalid_request_error", "code": "invalid_api_key"}}',
     "invalid_request_error: Incorrect API key"),
    ('{"detail": "Invalid API key"}', "Invalid API key"),  # llama-cpp-python / FastAPI
    ('{"error": "unauthorized"}', "unauthorized"),  # Ollama: a plain string
    ('{"error": {"code": 401, "message": "No auth credentials found"}}', "No auth credentials found"),  # OpenRouter
    ("plain words", "plain words"),
])
def test_every_error_shape_becomes_one_auth_sentence(body, fragment):
    error = _http.describe_status(provider(), URL, 401, httpx.Headers(), body)
    assert error.kind == "auth" and error.status == 401
    assert fragment in error.message and URL in error.message and "`tui-agent login test`" in error.message
    assert "\n" not in error.message


def test_a_secret_echoed_by_the_server_is_masked():
    secret = "sk-proj-abcdefghijklmnop1234"
    error = _http.describe_status(provider(), URL, 401, httpx.Headers(), f'{{"error": "bad key {secret}"}}', secret)
    assert secret not in error.message and "sk-pro…1234" in error.message


def test_a_long_body_is_cut_to_one_short_line():
    error = _http.describe_status(provider(), URL, 500, httpx.Headers(), "boom\n" * 500)
    assert len(error.message) < 500 and "\n" not in error.message and error.kind == "overloaded"


def test_an_html_error_page_is_called_html_with_status_and_url():
    error = _http.describe_status(provider(), URL, 502, httpx.Headers({"content-type": "text/html"}), "<html>…</html>")
    assert error.kind == "bad_response" and "HTML" in error.message and "HTTP 502" in error.message and URL in error.message


def test_html_without_a_content_type_is_still_recognised():
    error = _http.describe_status(provider(), URL, 503, httpx.Headers(), "<!DOCTYPE html><html></html>")
    assert error.kind == "bad_response"


def test_a_redirect_names_the_host_it_points_to():
    error = _http.describe_status(provider(), URL, 302, httpx.Headers({"location": "https://evil.example/x"}), "")
    assert "evil.example" in error.message and "never follows a redirect" in error.message


@pytest.mark.parametrize("status, kind", [(400, "bad_request"), (404, "bad_request"), (403, "auth"),
                                          (429, "rate_limit"), (500, "overloaded"), (529, "overloaded"),
                                          (418, "provider")])
def test_status_kinds(status, kind):
    assert _http.describe_status(provider(), URL, status, httpx.Headers(), "{}").kind == kind
