"""Where OAuth endpoints come from: explicit config, the Entra ID preset, OIDC discovery and RFC 8414, cached."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.authserver import Reply, ScriptedServer
from tui_agent.auth.oauth.discovery import clear_discovery_cache, resolve_endpoints, well_known_urls
from tui_agent.config.schema import OAuthSettings, ProviderConfig
from tui_agent.errors import AuthError


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_discovery_cache()
    yield
    clear_discovery_cache()


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
async def client():
    async with httpx.AsyncClient(timeout=5) as c:
        yield c


def provider(**oauth) -> ProviderConfig:
    return ProviderConfig(id="gw", kind="openai-chat", base_url="https://llm.example.com/v1", auth=["oauth-device"], oauth=OAuthSettings(**oauth))


def metadata(base: str, issuer: str | None = None, **extra) -> dict:
    doc = {
        "issuer": issuer or base,
        "token_endpoint": f"{base}/token",
        "device_authorization_endpoint": f"{base}/device",
        "authorization_endpoint": f"{base}/authorize",
    }
    doc.update(extra)
    return doc


async def test_explicit_endpoints_are_used_without_any_request(client):
    p = provider(device_endpoint="https://sso.example.com/dev", token_endpoint="https://sso.example.com/tok", client_id="x")
    endpoints = await resolve_endpoints(p, client)
    assert endpoints.device_authorization_endpoint == "https://sso.example.com/dev"
    assert endpoints.token_endpoint == "https://sso.example.com/tok"
    assert endpoints.source == "config"


async def test_azure_tenant_gives_the_entra_device_and_token_endpoints(client):
    p = ProviderConfig(
        id="azure-openai", kind="openai-chat", base_url="https://res.openai.azure.com/openai/v1",
        auth=["oauth-device"], oauth=OAuthSettings(tenant="contoso.onmicrosoft.com", client_id="abc"),
    )
    endpoints = await resolve_endpoints(p, client)
    assert endpoints.device_authorization_endpoint == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/devicecode"
    assert endpoints.token_endpoint == "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    assert "Entra" in endpoints.source


async def test_oidc_discovery_document_supplies_the_endpoints(server, client):
    server.script("GET", "/.well-known/openid-configuration", Reply.json(metadata(server.url, code_challenge_methods_supported=["S256"])))
    endpoints = await resolve_endpoints(provider(issuer=server.url), client)
    assert endpoints.token_endpoint == f"{server.url}/token"
    assert endpoints.device_authorization_endpoint == f"{server.url}/device"
    assert endpoints.advertises_s256
    assert [r.path for r in server.requests] == ["/.well-known/openid-configuration"]


async def test_rfc8414_is_tried_when_oidc_discovery_is_missing(server, client):
    server.script("GET", "/.well-known/oauth-authorization-server", Reply.json(metadata(server.url)))
    endpoints = await resolve_endpoints(provider(issuer=server.url), client)
    assert endpoints.token_endpoint == f"{server.url}/token"
    assert [r.path for r in server.requests] == ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
    assert "oauth-authorization-server" in endpoints.source


async def test_rfc8414_inserts_the_well_known_segment_before_an_issuer_path(server, client):
    issuer = f"{server.url}/realms/eng"
    server.script("GET", "/.well-known/oauth-authorization-server/realms/eng", Reply.json(metadata(issuer)))
    endpoints = await resolve_endpoints(provider(issuer=issuer), client)
    assert endpoints.token_endpoint == f"{issuer}/token"
    assert server.requests[0].path == "/realms/eng/.well-known/openid-configuration"
    assert server.requests[1].path == "/.well-known/oauth-authorization-server/realms/eng"


def test_well_known_urls_for_an_issuer_without_a_path_are_not_repeated():
    assert well_known_urls("https://sso.example.com/") == [
        "https://sso.example.com/.well-known/openid-configuration",
        "https://sso.example.com/.well-known/oauth-authorization-server",
    ]


async def test_discovery_is_cached_per_issuer(server, client):
    server.script("GET", "/.well-known/openid-configuration", Reply.json(metadata(server.url)))
    first = await resolve_endpoints(provider(issuer=server.url), client)
    second = await resolve_endpoints(provider(issuer=server.url + "/"), client)
    assert first.token_endpoint == second.token_endpoint == f"{server.url}/token"
    assert len(server.requests) == 1


async def test_explicit_fields_override_discovered_ones(server, client):
    server.script("GET", "/.well-known/openid-configuration", Reply.json(metadata(server.url)))
    endpoints = await resolve_endpoints(provider(issuer=server.url, token_endpoint=f"{server.url}/other-token"), client)
    assert endpoints.token_endpoint == f"{server.url}/other-token"
    assert endpoints.device_authorization_endpoint == f"{server.url}/device"


async def test_html_instead_of_json_is_one_sentence_with_status_and_url(server, client):
    server.script("GET", "/.well-known/openid-configuration", Reply.html(200, "<!DOCTYPE html><html><body>Sign in</body></html>"))
    # /.well-known/oauth-authorization-server is not scripted: the fake answers 404 with an HTML page
    with pytest.raises(AuthError) as info:
        await resolve_endpoints(provider(issuer=server.url), client)
    text = str(info.value)
    assert f"{server.url}/.well-known/openid-configuration answered HTTP 200 with an HTML page" in text
    assert "HTTP 404" in text
    assert "oauth.issuer" in text
    assert "<html" not in text.lower()
    assert "\n" not in text


async def test_garbage_instead_of_json_is_named_as_such(server, client):
    server.script("GET", "/.well-known/openid-configuration", Reply(200, "not json {", "application/json"))
    with pytest.raises(AuthError, match=r"answered HTTP 200 with a body that is not JSON"):
        await resolve_endpoints(provider(issuer=server.url), client)


async def test_a_failed_discovery_is_not_cached(server, client):
    server.script("GET", "/.well-known/openid-configuration", Reply.html(503), Reply.json(metadata(server.url)))
    server.script("GET", "/.well-known/oauth-authorization-server", Reply.html(404))
    with pytest.raises(AuthError):
        await resolve_endpoints(provider(issuer=server.url), client)
    endpoints = await resolve_endpoints(provider(issuer=server.url), client)
    assert endpoints.token_endpoint == f"{server.url}/token"


async def test_a_document_for_another_issuer_is_refused(server, client):
    server.script("GET", "/.well-known/openid-configuration", Reply.json(metadata(server.url, issuer="https://evil.example.com")))
    with pytest.raises(AuthError, match="is for issuer 'https://evil.example.com'"):
        await resolve_endpoints(provider(issuer=server.url), client)


async def test_plain_http_endpoints_off_loopback_are_refused(client):
    p = provider(device_endpoint="http://sso.example.com/dev", token_endpoint="https://sso.example.com/tok")
    with pytest.raises(AuthError, match="not an https:// URL"):
        await resolve_endpoints(p, client)


async def test_unreachable_issuer_is_one_sentence(client):
    with ScriptedServer() as srv:
        url = srv.url  # the port is closed once the server stops
    with pytest.raises(AuthError, match=r"Could not reach the OAuth issuer at .* check the network and oauth.issuer"):
        await resolve_endpoints(provider(issuer=url), client)


async def test_provider_without_oauth_settings_says_where_to_add_them(client):
    p = ProviderConfig(id="gw", kind="openai-chat", base_url="https://x.example.com", auth=["oauth-device"])
    with pytest.raises(AuthError, match=r"\[providers.gw.oauth\]"):
        await resolve_endpoints(p, client)


@pytest.mark.parametrize(
    "authorize",
    ["https://login.example.com@evil.test/authorize", "https://login.example.com/auth\x1b]0;x\x07", "https://a.test/\u202eexe"],
)
async def test_a_discovered_endpoint_with_user_info_or_control_characters_is_refused(server, client, authorize):
    server.script("GET", "/.well-known/openid-configuration", Reply.json(metadata(server.url, authorization_endpoint=authorize)))
    with pytest.raises(AuthError, match="is not a plain URL") as info:
        await resolve_endpoints(provider(issuer=server.url), client)
    text = str(info.value)
    assert not any(c in text for c in "\x1b\x07\u202e") and "login.example.com@" not in text
