"""Corporate networks: HTTP(S)_PROXY / NO_PROXY are honoured, through a loopback proxy, and said by status/explain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeOpenAI
from tests.fakes.fake_proxy import FakeProxy
from tui_agent.cli import main
from tui_agent.providers.proxy import proxy_for

KEY = "sk-test-0123456789abcdefghijKLMN"
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_proxy_for_a_url_follows_the_environment_and_hides_its_password(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://ada:s3cret-pass@proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.internal")
    assert proxy_for("https://api.openai.com/v1") == "http://***@proxy.example:3128"
    assert proxy_for("https://llm.corp.internal/v1") is None
    assert proxy_for("http://localhost:11434") is None
    assert proxy_for("http://127.0.0.1:1234/v1") is None  # HTTPS_PROXY covers https:// URLs only


def test_no_proxy_variables_means_direct():
    assert proxy_for("https://api.openai.com/v1") is None


@pytest.fixture
def gateway_through_a_proxy(isolated_home: Path, monkeypatch):
    with FakeOpenAI(api_key=KEY) as fake, FakeProxy() as proxy:
        (isolated_home / "config.toml").write_text(
            f'default_profile = "g"\n[providers.gw]\nkind = "openai-chat"\nbase_url = "{fake.base_url}"\n'
            f'auth = ["api-key"]\napi_key_env = "GW_KEY"\n[profiles.g]\nprovider = "gw"\nmodel = "gpt-test"\n'
            '[providers.ollama]\nbase_url = "http://127.0.0.1:9"\n[providers.lmstudio]\nbase_url = "http://127.0.0.1:9/v1"\n'
        )
        monkeypatch.setenv("GW_KEY", KEY)
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://ada:s3cret-pass@"))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1:9")  # the local servers' closed port: straight to it
        yield fake, proxy


def test_ask_goes_through_the_proxy_in_the_environment(capsys, gateway_through_a_proxy):
    fake, proxy = gateway_through_a_proxy
    fake.script(FakeOpenAI.answer("via ", "the proxy"))
    code, out, err = run(capsys, "ask", "hi")
    assert (code, out) == (0, "via the proxy\n"), err
    assert proxy.carried == [f"{fake.base_url}/chat/completions"]
    assert fake.chat_requests[0].json["messages"] == [{"role": "user", "content": "hi"}]


def test_status_and_explain_verbose_say_which_url_goes_through_which_proxy(capsys, gateway_through_a_proxy):
    fake, proxy = gateway_through_a_proxy
    masked = f"http://***@127.0.0.1:{proxy.port}"
    code, out, _err = run(capsys, "status", "--no-probe")
    assert code == 0
    assert f"gw: requests to {fake.base_url} go through the proxy {masked}" in out
    assert "NO_PROXY" in out and "ollama: requests" not in out  # ollama's address is in NO_PROXY
    assert "s3cret-pass" not in out
    code, out, err = run(capsys, "explain", "g", "--verbose")
    assert code == 0
    assert f"proxy: requests to {fake.base_url} go through the proxy {masked}" in out
    assert "s3cret-pass" not in out + err
    code, out, _err = run(capsys, "explain", "g")
    assert "proxy" not in out  # only with --verbose
