"""Which proxy, if any, the HTTP client sends a URL through: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY minus NO_PROXY.

The client is built with `trust_env=True` (service/agent.py), so httpx reads these variables (and SSL_CERT_FILE)
itself; this module answers the same question with httpx's own rules, for `status` and `explain --verbose`.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import httpx


def proxy_for(url: str) -> str | None:
    """The proxy requests to `url` go through, with any user and password in it masked; None when direct."""
    # httpx 0.28's own helpers: the exact rules its client applies to the environment (NO_PROXY included).
    from httpx._utils import URLPattern, get_environment_proxies

    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return None
    mounts = sorted((URLPattern(pattern), proxy) for pattern, proxy in get_environment_proxies().items())
    for pattern, proxy in mounts:  # sorted as the client sorts them: the most specific first
        if pattern.matches(target):
            return _without_userinfo(proxy) if proxy else None
    return None


def _without_userinfo(proxy: str) -> str:
    parts = urlsplit(proxy)
    if "@" not in parts.netloc:
        return proxy
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))
