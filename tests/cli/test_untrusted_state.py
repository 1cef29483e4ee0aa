"""Headless commands against bad state and hostile servers: one sentence, exit 1, nothing lost."""

from __future__ import annotations

import io
import json
from pathlib import Path

from tests.fakes import FakeOpenAI
from tests.fakes.silent import SilentListener
from tui_agent.cli import main

KEY = "sk-test-0123456789abcdefghijKLMN"


def write_gateway_config(home: Path, base_url: str, timeouts: str = "") -> None:
    (home / "config.toml").write_text(
        f'default_profile = "g"\n[providers.gw]\nkind = "openai-chat"\nbase_url = "{base_url}"\n'
        f'auth = ["api-key"]\n{timeouts}[profiles.g]\nprovider = "gw"\nmodel = "gpt-test"\n'
    )


def test_a_wrong_typed_store_entry_is_one_sentence_exit_1_and_the_file_untouched(capsys, isolated_home):
    with FakeOpenAI(api_key=KEY) as fake:
        write_gateway_config(isolated_home, fake.base_url)
        credentials = isolated_home / "data" / "credentials.json"
        credentials.parent.mkdir(parents=True)
        credentials.write_text(json.dumps({"gw": ["not", "an", "object"]}))
        before = credentials.read_bytes()
        code = main(["ask", "hello"])
        out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.strip() == (
        f"tui-agent: the credentials file {credentials} has an entry for `gw` that tui-agent cannot read "
        "(it is a JSON list, not an object); it was left untouched — run `tui-agent login gw` to replace it"
    )
    assert "Traceback" not in err
    assert credentials.read_bytes() == before
    assert fake.chat_requests == []


def test_ask_against_a_server_that_never_answers_exits_1_naming_the_limit_and_its_key(capsys, isolated_home, monkeypatch):
    monkeypatch.setenv("GW_KEY", KEY)
    with SilentListener() as hung:
        write_gateway_config(isolated_home, hung.base_url + "/v1", "api_key_env = \"GW_KEY\"\ntimeouts = { headers = 0.3 }\n")
        code = main(["ask", "hello"])
        out, err = capsys.readouterr()
        connections = hung.connections
    assert (code, out) == (1, "")
    assert err.strip() == (
        f"tui-agent: gw (g): gw accepted the request but sent no answer within 0.3 s at {hung.base_url}/v1/chat/completions; "
        "it was not sent again — try later, or raise providers.gw.timeouts.headers if the server needs longer"
    )
    assert connections == 1


def test_a_time_limit_of_zero_is_a_located_config_error(capsys, isolated_home):
    write_gateway_config(isolated_home, "https://gw.example.com/v1", "timeouts = { idle = 0 }\n")
    code = main(["ask", "hello"])
    _out, err = capsys.readouterr()
    assert code == 2
    assert "providers.gw.timeouts.idle" in err and "Traceback" not in err


def test_a_key_stored_for_one_origin_is_never_sent_to_another_port_and_login_there_works(capsys, isolated_home, monkeypatch):
    with FakeOpenAI(api_key=KEY) as first, FakeOpenAI(api_key=KEY) as second:
        write_gateway_config(isolated_home, first.base_url)
        monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
        assert main(["login", "gw"]) == 0
        write_gateway_config(isolated_home, second.base_url)  # same host, another port: another origin
        capsys.readouterr()
        code = main(["ask", "hello"])
        out, err = capsys.readouterr()
        assert (code, out) == (1, "")
        assert f"stored for {first.root_url}, and the provider now points at {second.root_url}" in err
        assert "nothing was sent — log in again for the new address (`tui-agent login gw`)" in err
        assert second.requests == []  # not the key, not anything
        assert all(KEY not in str(r.headers) for r in second.requests)

        monkeypatch.setattr("sys.stdin", io.StringIO(KEY + "\n"))
        assert main(["login", "gw"]) == 0  # log in again for the new address
        second.script(FakeOpenAI.answer("hi"))
        capsys.readouterr()
        assert main(["ask", "hello"]) == 0
        assert capsys.readouterr().out == "hi\n"
        assert second.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
        assert not any(r.path.endswith("/chat/completions") for r in first.requests)


def test_a_legacy_host_only_entry_is_bound_to_the_origin_at_first_use(capsys, isolated_home):
    with FakeOpenAI(api_key=KEY) as fake:
        write_gateway_config(isolated_home, fake.base_url)
        credentials = isolated_home / "data" / "credentials.json"
        credentials.parent.mkdir(parents=True)
        credentials.write_text(json.dumps({"gw": {"kind": "api-key", "secret": KEY, "host": f"127.0.0.1:{fake.port}"}}))
        fake.script(FakeOpenAI.answer("ok"))
        assert main(["ask", "hello"]) == 0
        assert capsys.readouterr().out == "ok\n"
        assert fake.chat_requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(credentials.read_text())["gw"]["host"] == f"http://127.0.0.1:{fake.port}"
