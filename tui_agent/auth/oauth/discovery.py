"""Where a provider's OAuth endpoints are: explicit config, the Entra ID (Azure) preset, or discovery from an issuer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import httpx

from tui_agent.auth.oauth._common import check_endpoint_url, describe_body
from tui_agent.errors import AuthError

if TYPE_CHECKING:
    from tui_agent.config.schema import ProviderConfig

ENTRA_AUTHORITY = "https://login.microsoftonline.com"

# issuer -> metadata document. Discovery documents change rarely; one fetch per issuer per process is plenty.
_CACHE: dict[str, dict[str, Any]] = {}


@dataclass(frozen=True)
class OAuthEndpoints:
    """The endpoints one provider's login uses, and where they were learned (for `explain` and errors)."""

    token_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    authorization_endpoint: str | None = None
    keys_endpoint: str | None = None  # OpenRouter: PKCE code -> API key
    code_challenge_methods: tuple[str, ...] = ()  # as advertised; empty when the server says nothing
    issuer: str | None = None
    source: str = "config"  # "config" | "Microsoft Entra ID preset" | "discovery: <url>"

    @property
    def advertises_s256(self) -> bool:
        return "S256" in self.code_challenge_methods


def clear_discovery_cache() -> None:
    """Forget every cached discovery document (tests, or after the user edits an issuer)."""
    _CACHE.clear()


async def resolve_endpoints(provider: "ProviderConfig", client: httpx.AsyncClient) -> OAuthEndpoints:
    """The provider's endpoints: explicit fields win over the Azure tenant preset, which wins over issuer discovery."""
    oauth = provider.oauth
    if oauth is None:
        raise AuthError(
            f"Provider {provider.id!r} has no [providers.{provider.id}.oauth] settings; add an issuer "
            "(or device_endpoint and token_endpoint) there to log in with OAuth."
        )
    found: dict[str, Any] = {}
    source = "config"
    issuer = oauth.issuer
    if oauth.tenant:
        base = f"{ENTRA_AUTHORITY}/{quote(oauth.tenant, safe='')}/oauth2/v2.0"
        found = {
            "device_authorization_endpoint": f"{base}/devicecode",
            "token_endpoint": f"{base}/token",
            "authorization_endpoint": f"{base}/authorize",
        }
        source = "Microsoft Entra ID preset"
    elif issuer:
        found, url = await _discover(issuer, client)
        source = f"discovery: {url}"

    endpoints = OAuthEndpoints(
        token_endpoint=oauth.token_endpoint or found.get("token_endpoint"),
        device_authorization_endpoint=oauth.device_endpoint or found.get("device_authorization_endpoint"),
        authorization_endpoint=oauth.authorization_endpoint or found.get("authorization_endpoint"),
        keys_endpoint=oauth.keys_endpoint,
        code_challenge_methods=tuple(m for m in found.get("code_challenge_methods_supported") or () if isinstance(m, str)),
        issuer=issuer,
        source=source,
    )
    for name in ("token_endpoint", "device_authorization_endpoint", "authorization_endpoint", "keys_endpoint"):
        value = getattr(endpoints, name)
        if value:
            check_endpoint_url(value, f"{name.replace('_', ' ')} of provider {provider.id!r}")
    return endpoints


def well_known_urls(issuer: str) -> list[str]:
    """Where to look, in order: OIDC Discovery (appended), RFC 8414 (inserted before the path), RFC 8414 appended."""
    issuer = issuer.rstrip("/")
    parts = urlsplit(issuer)
    urls = [f"{issuer}/.well-known/openid-configuration"]
    inserted = urlunsplit((parts.scheme, parts.netloc, "/.well-known/oauth-authorization-server" + parts.path, "", ""))
    urls.append(inserted)
    appended = f"{issuer}/.well-known/oauth-authorization-server"
    if appended != inserted:  # issuers with a path: some servers (Keycloak) answer only the appended form
        urls.append(appended)
    return urls


async def _discover(issuer: str, client: httpx.AsyncClient) -> tuple[dict[str, Any], str]:
    key = issuer.rstrip("/")
    if key in _CACHE:
        doc = _CACHE[key]
        return doc, doc.get("__url__", key)
    check_endpoint_url(key, "OAuth issuer")
    failures: list[tuple[int, str]] = []  # (priority, sentence fragment): a 404 says less than an HTML page
    for url in well_known_urls(key):
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.TransportError as exc:
            raise AuthError(
                f"Could not reach the OAuth issuer at {url} ({type(exc).__name__}); check the network and oauth.issuer."
            ) from None
        data, problem = describe_body(response)
        if problem is None and response.status_code == 200 and isinstance(data, dict):
            _check_issuer(key, data, url)
            doc = dict(data)
            doc["__url__"] = url
            _CACHE[key] = doc
            return doc, url
        if problem is not None:
            failures.append((0 if response.status_code == 404 else 1, f"{url} answered HTTP {response.status_code} with {problem.what}"))
        else:
            failures.append((0 if response.status_code == 404 else 1, f"{url} answered HTTP {response.status_code} without a metadata document"))
    failures.sort(key=lambda f: -f[0])
    detail = "; ".join(f[1] for f in failures)
    raise AuthError(
        f"OAuth discovery for issuer {key} found no JSON metadata document ({detail}); "
        "check oauth.issuer, or set device_endpoint and token_endpoint explicitly."
    )


def _check_issuer(expected: str, doc: dict[str, Any], url: str) -> None:
    """RFC 8414 §3.3 / OIDC Discovery §4.3: the document must name the issuer it was fetched for."""
    got = doc.get("issuer")
    if not isinstance(got, str) or not got:
        return  # many gateways omit it; the endpoints still came from the configured origin
    if "{tenantid}" in got:  # Entra's multi-tenant documents carry a template, not a value
        return
    if got.rstrip("/") != expected:
        raise AuthError(
            f"The discovery document at {url} is for issuer {got!r}, not the configured {expected!r}; "
            "set oauth.issuer to exactly the issuer URL your identity provider documents."
        )
