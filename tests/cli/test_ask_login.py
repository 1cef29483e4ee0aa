"""`ask`, `login` and `logout` end to end against loopback fakes speaking the real wire formats."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from tests.fakes import FakeAnthropic, FakeOllama, FakeOpenAI
from tui_agent.cli import main

KEY = "sk-test-0123456789abcdefghijKLMN"


def run(capsys, *argv: str, stdin: str | None = None, monkeypatch=None) -> tuple[int, str, str]:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def openai_gateway(isolated_home: Path):
    """A user-defined OpenAI-compatible provider `gw` on a loopback fake that requires KEY."""
    with FakeOpenAI(api_key=KEY) as fake:
        (isolated_home / "config.toml").write_text(
            f'default_profile = "g"\n[providers.gw]\nkind = "openai-chat"\nbase_url = "{fake.base_url}"\n'
            f'auth = ["api-key"]\napi_key_env = "GW_KEY"\n[profiles.g]\nprovider = "gw"\nmodel = "gpt-test"\n'
            f'temperature = 0.5\n'
        )
        yield fake


def test_ask_streams_the_answer_to_stdout(capsys, monkeypatch, openai_gateway):
    monkeypatch.setenv("GW_KEY", KEY)
    openai_gateway.script(FakeOpenAI.answer("Hello", ", ", "world"))
    code, out, err = run(capsys, "ask", "hi there")
    assert (code, out, err) == (0, "Hello, world\n", "")
    body = openai_gateway.chat_requests[0].json
    assert body["messages"] == [{"role": "user", "content": "hi there"}]
    assert body["temperature"] == 0.5
    assert "top_p" not in body  # parameters are sent only when set


def test_ask_reads_the_prompt_from_stdin_and_takes_a_system_prompt(capsys, monkeypatch, openai_gateway):
    monkeypatch.setenv("GW_KEY", KEY)
    openai_gateway.script(FakeOpenAI.answer("ok"))
    code, out, _err = run(capsys, "ask", "-m", "g", "--system", "Be brief.", "-", stdin="from stdin\n", monkeypatch=monkeypatch)
    assert (code, out) == (0, "ok\n")
    messages = openai_gateway.chat_requests[0].json["messages"]
    assert messages[0] == {"role": "system", "content": "Be brief."}
    assert messages[1] == {"role": "user", "content": "from stdin\n"}


def test_ask_with_a_refused_key_exits_1_with_one_sentence(capsys, monkeypatch, openai_gateway):
    monkeypatch.setenv("GW_KEY", "sk-wrong-key-000000000000000000")
    code, out, err = run(capsys, "ask", "hello")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and "tui-agent login gw" in err
    assert "sk-wrong-key" not in err


def test_ask_keeps_what_arrived_when_the_stream_is_cut(capsys, monkeypatch, openai_gateway):
    monkeypatch.setenv("GW_KEY", KEY)
    openai_gateway.script(FakeOpenAI.answer("partial ", "answer", finish_reason=None, done=False, cut=True))
    code, out, err = run(capsys, "ask", "hello")
    assert code == 1
    assert out == "partial answer\n"
    assert err.startswith("tui-agent: gw (g): ")


def test_ask_through_anthropic_and_ollama_fakes(capsys, monkeypatch, isolated_home):
    with FakeAnthropic() as anth, FakeOllama() as olla:
        (isolated_home / "config.toml").write_text(
            f'[providers.anthropic]\nbase_url = "{anth.base_url}"\n[providers.ollama]\nbase_url = "{olla.base_url}"\n'
            '[profiles.a]\nprovider = "anthropic"\nmodel = "claude-sonnet-4-5"\n'
            '[profiles.o]\nprovider = "ollama"\nmodel = "llama3.2"\n'
        )
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-abcdefghijklmnop")
        anth.script(FakeAnthropic.answer("from ", "claude"))
        code, out, _err = run(capsys, "ask", "-m", "a", "hi")
        assert (code, out) == (0, "from claude\n")
        request = anth.requests[-1]
        assert request.headers["x-api-key"] == "sk-ant-api03-abcdefghijklmnop"
        assert request.json["max_tokens"] == 8192  # the Messages API requires it
        olla.script(FakeOllama.answer("from ", "llama"))
        code, out, _err = run(capsys, "ask", "-m", "o", "hi")
        assert (code, out) == (0, "from llama\n")


def test_login_validates_stores_and_status_reports_the_store(capsys, monkeypatch, openai_gateway, isolated_home):
    code, out, err = run(capsys, "login", "gw", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "sk-tes…KLMN" in out and KEY not in out
    assert any(r.path == "/v1/models" for r in openai_gateway.requests)  # validated with a cheap request
    stored = json.loads((isolated_home / "data" / "credentials.json").read_text())
    assert (isolated_home / "data" / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert stored["gw"]["host"] == openai_gateway.root_url  # the origin: scheme, host and port
    code, out, _err = run(capsys, "status", "--json", "--no-probe")
    row = {r["provider"]: r for r in json.loads(out)}["gw"]
    assert (row["state"], row["source"], row["identity"]) == ("ready", "file", "sk-tes…KLMN")
    # the stored key now answers
    openai_gateway.script(FakeOpenAI.answer("stored key works"))
    code, out, _err = run(capsys, "ask", "hi")
    assert (code, out) == (0, "stored key works\n")


def test_login_with_a_refused_key_does_not_store_it(capsys, monkeypatch, openai_gateway, isolated_home):
    code, out, err = run(capsys, "login", "gw", stdin="sk-bad-key-00000000000000000000\n", monkeypatch=monkeypatch)
    assert code == 1
    assert "refused the key" in err and "not stored" in err
    assert "sk-bad-key-0000" not in err
    assert not (isolated_home / "data" / "credentials.json").exists() or "gw" not in json.loads(
        (isolated_home / "data" / "credentials.json").read_text()
    )


def test_logout_forgets_the_key_and_mentions_a_remaining_env_var(capsys, monkeypatch, openai_gateway):
    assert run(capsys, "login", "gw", stdin=KEY + "\n", monkeypatch=monkeypatch)[0] == 0
    monkeypatch.setenv("GW_KEY", KEY)
    code, out, _err = run(capsys, "logout", "gw")
    assert code == 0
    assert "Forgot the stored credential for gw." in out
    assert "GW_KEY is still set" in out
    code, out, _err = run(capsys, "logout", "gw")
    assert "Nothing was stored for gw." in out


def test_a_key_stored_for_one_host_is_not_sent_to_another(capsys, monkeypatch, openai_gateway, isolated_home):
    assert run(capsys, "login", "gw", stdin=KEY + "\n", monkeypatch=monkeypatch)[0] == 0
    with FakeOpenAI() as elsewhere:
        config = isolated_home / "config.toml"
        config.write_text(config.read_text().replace(openai_gateway.base_url, elsewhere.base_url.replace("127.0.0.1", "localhost")))
        code, out, _err = run(capsys, "status", "--json", "--no-probe")
        row = {r["provider"]: r for r in json.loads(out)}["gw"]
        assert row["state"] == "error"
        assert "log in again" in row["detail"]
        code, _out, err = run(capsys, "ask", "hi")
        assert code == 1 and "log in again" in err
        assert elsewhere.requests == []


def test_login_to_unknown_provider_is_a_usage_error(capsys):
    code, _out, err = run(capsys, "login", "opnai")
    assert code == 2
    assert "did you mean `openai`?" in err


def test_login_with_a_method_the_provider_does_not_allow(capsys):
    code, _out, err = run(capsys, "login", "openai", "--method", "oauth-device")
    assert code == 2
    assert "does not allow auth method `oauth-device`" in err


def test_verbose_logs_the_chain_and_http_but_never_the_key(capsys, monkeypatch, openai_gateway):
    monkeypatch.setenv("GW_KEY", KEY)
    openai_gateway.script(FakeOpenAI.answer("ok"))
    code, out, err = run(capsys, "ask", "hi", "--verbose")
    assert code == 0
    assert "provider=gw method=api-key" in err
    assert "POST" in err and "/v1/chat/completions" in err
    assert KEY not in err


def test_ask_verbose_prints_the_explain_steps_on_stderr_before_the_request(capsys, monkeypatch, openai_gateway):
    monkeypatch.setenv("GW_KEY", KEY)
    code, explained, _ = run(capsys, "explain", "g")
    assert code == 0
    openai_gateway.script(FakeOpenAI.answer("ok"))
    code, out, err = run(capsys, "ask", "hi", "--verbose")
    assert (code, out) == (0, "ok\n")
    steps = [line for line in explained.splitlines() if line[:1].isdigit()]
    assert len(steps) >= 4
    at = [err.find(line) for line in steps]
    assert -1 not in at and at == sorted(at), err
    assert at[-1] < err.index("POST")


def test_ask_that_gets_no_text_says_so_on_stderr_and_exits_0(capsys, monkeypatch, openai_gateway):
    monkeypatch.setenv("GW_KEY", KEY)
    openai_gateway.script(FakeOpenAI.answer())
    code, out, err = run(capsys, "ask", "hi")
    assert (code, out, err) == (0, "", "(the model returned no text)\n")


def test_models_lists_discovered_models_with_loaded_state(capsys, isolated_home):
    with FakeOllama(models=("llama3.2:latest", "qwen3:4b"), loaded=("qwen3:4b",)) as olla:
        (isolated_home / "config.toml").write_text(
            f'[providers.ollama]\nbase_url = "{olla.base_url}"\n[providers.lmstudio]\nbase_url = "http://127.0.0.1:9/v1"\n'
            '[profiles.o]\nprovider = "ollama"\nmodel = "llama3.2"\n'
        )
        code, out, _err = run(capsys, "models", "--json", "--provider", "ollama")
    assert code == 0
    rows = json.loads(out)
    # The profile names llama3.2, which Ollama lists as llama3.2:latest: one row, carrying its loaded state.
    assert rows[0] == {"provider": "ollama", "model": "llama3.2", "profile": "o", "origin": "profile",
                       "available": True, "reason": "", "loaded": False}
    discovered = {r["model"]: r["loaded"] for r in rows if r["origin"] == "discovered"}
    assert discovered == {"qwen3:4b": True}


# --- a key that cannot be checked now (issue 22 item 1) -------------------------------------------------------


def closed_port_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens there now: connection refused


def gateway_at(isolated_home: Path, base_url: str) -> None:
    (isolated_home / "config.toml").write_text(
        f'default_profile = "g"\n[providers.gw]\nkind = "openai-chat"\nbase_url = "{base_url}"\n'
        f'auth = ["api-key"]\n[profiles.g]\nprovider = "gw"\nmodel = "gpt-test"\n'
    )


def status_row(capsys, provider: str = "gw") -> dict:
    code, out, _err = run(capsys, "status", "--json", "--no-probe")
    assert code == 0
    return {r["provider"]: r for r in json.loads(out)}[provider]


def test_a_check_that_cannot_reach_the_server_suggests_no_check_and_stores_nothing(capsys, monkeypatch, isolated_home):
    gateway_at(isolated_home, closed_port_url())
    code, _out, err = run(capsys, "login", "gw", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert code == 1
    assert "connection refused" in err and "not stored" in err and "--no-check" in err
    assert status_row(capsys)["state"] == "missing"


def test_a_check_endpoint_that_does_not_exist_counts_as_a_network_reason(capsys, monkeypatch, isolated_home):
    with FakeOpenAI(api_key=KEY) as fake:
        gateway_at(isolated_home, fake.base_url + "/no-such-api")  # its /models answers 404
        code, _out, err = run(capsys, "login", "gw", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert code == 1 and "404" in err and "--no-check" in err


def test_a_refused_key_never_suggests_no_check(capsys, monkeypatch, openai_gateway):
    code, _out, err = run(capsys, "login", "gw", stdin="sk-bad-key-00000000000000000000\n", monkeypatch=monkeypatch)
    assert code == 1 and "refused the key" in err and "--no-check" not in err


def test_no_check_stores_the_key_as_unknown_until_its_first_use_accepts_it(capsys, monkeypatch, openai_gateway):
    code, out, err = run(capsys, "login", "gw", "--no-check", stdin=KEY + "\n", monkeypatch=monkeypatch)
    assert code == 0, err
    assert "without a check" in out and "sk-tes…KLMN" in out and KEY not in out
    assert not any(r.path.endswith("/models") for r in openai_gateway.requests)  # no check was made
    row = status_row(capsys)
    assert (row["state"], row["detail"], row["source"]) == ("unknown", "saved without a check", "file")
    openai_gateway.script(FakeOpenAI.answer("it works"))
    code, out, _err = run(capsys, "ask", "hi")
    assert (code, out) == (0, "it works\n")
    row = status_row(capsys)
    assert row["state"] == "ready" and "saved without a check" not in row["detail"]


def test_no_check_key_refused_at_its_first_use_becomes_an_error(capsys, monkeypatch, openai_gateway):
    code, _out, _err = run(capsys, "login", "gw", "--no-check", stdin="sk-bad-key-00000000000000000000\n", monkeypatch=monkeypatch)
    assert code == 0
    assert status_row(capsys)["state"] == "unknown"
    code, _out, err = run(capsys, "ask", "hi")
    assert code == 1 and "sk-bad-key-0000" not in err
    row = status_row(capsys)
    assert row["state"] == "error" and "refused at its first use" in row["detail"]


def test_no_check_is_for_api_keys_only(capsys, isolated_home):
    code, _out, err = run(capsys, "login", "ollama", "--no-check")
    assert code == 2 and "does not allow auth method `api-key`" in err



def test_models_lists_a_model_a_profile_names_once(capsys, isolated_home):
    with FakeOllama(models=("llama3.2:latest", "qwen3:4b"), loaded=("qwen3:4b",)) as olla:
        (isolated_home / "config.toml").write_text(
            f'[providers.ollama]\nbase_url = "{olla.base_url}"\n[providers.lmstudio]\nbase_url = "http://127.0.0.1:9/v1"\n'
            '[profiles.q]\nprovider = "ollama"\nmodel = "qwen3:4b"\n'
        )
        code, out, _err = run(capsys, "models", "--provider", "ollama")
    assert code == 0
    assert [line.split()[2] for line in out.splitlines()[1:] if line.strip()].count("qwen3:4b") == 1, out
