"""The headless commands: output, JSON schema and exit codes exactly as docs/interfaces.md gives them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tui_agent.cli import main

FIXTURE = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "qwen-model-profiles.json"
QWEN_SAMPLE = [
    {"nickname": "claude", "provider": "claude-code-max", "authType": "oauth-personal"},
    {"nickname": "local", "provider": "ollama", "authType": "openai"},
    {"nickname": "studio", "provider": "lmstudio", "authType": "openai"},
    {"nickname": "gpt", "provider": "openai", "authType": "openai"},
]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def config_file(isolated_home: Path) -> Path:
    return isolated_home / "config.toml"


@pytest.fixture
def local_servers_down(config_file: Path) -> str:
    """Point Ollama and LM Studio at closed loopback ports so nothing real is probed."""
    text = (
        f'[providers.ollama]\nbase_url = "http://127.0.0.1:{closed_port()}"\n'
        f'[providers.lmstudio]\nbase_url = "http://127.0.0.1:{closed_port()}/v1"\n'
    )
    config_file.write_text(text)
    return text


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


BROKEN = '[profiles.claude]\nprovider = "claude-code-mx"\nmodel = "sonnet"\n'


def test_version_via_python_m():
    proc = subprocess.run([sys.executable, "-m", "tui_agent", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("tui-agent ")


def test_bad_flag_is_a_usage_error(capsys):
    code, _out, err = run(capsys, "status", "--frobnicate")
    assert code == 2
    assert "unrecognized arguments" in err


def test_status_json_lists_every_provider_with_the_contract_fields(capsys, local_servers_down):
    code, out, _err = run(capsys, "status", "--json")
    assert code == 0
    rows = json.loads(out)
    assert {r["provider"] for r in rows} == {"anthropic", "claude-code", "openai", "openrouter", "azure-openai", "ollama", "lmstudio"}
    for row in rows:
        assert set(row) == {"provider", "display_name", "kind", "auth_method", "auth_methods", "state", "source", "identity", "expires_at", "detail"}
        assert row["auth_method"] == row["auth_methods"][0]
    by_id = {r["provider"]: r for r in rows}
    assert by_id["openai"]["state"] == "missing"
    assert "tui-agent login openai" in by_id["openai"]["detail"]
    assert by_id["ollama"]["state"] == "unreachable"
    assert by_id["azure-openai"]["state"] == "missing"
    assert "base_url" in by_id["azure-openai"]["detail"]


def test_status_reports_env_key_masked_and_never_the_secret(capsys, monkeypatch, local_servers_down):
    secret = "sk-ant-api03-verysecretvalue-a1B2"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    code, out, _err = run(capsys, "status", "--json", "--no-probe")
    assert code == 0
    row = {r["provider"]: r for r in json.loads(out)}["anthropic"]
    assert row["state"] == "ready"
    assert row["source"] == "env:ANTHROPIC_API_KEY"
    assert row["identity"] == "sk-ant…a1B2"
    assert secret not in out


def test_status_without_probe_leaves_local_servers_unknown(capsys, local_servers_down):
    code, out, _err = run(capsys, "status", "--json", "--no-probe")
    assert code == 0
    by_id = {r["provider"]: r for r in json.loads(out)}
    assert by_id["ollama"]["state"] == "unknown"
    assert by_id["lmstudio"]["state"] == "unknown"


def test_status_table_exits_zero_whatever_the_states(capsys, local_servers_down):
    code, out, _err = run(capsys, "status")
    assert code == 0
    assert "PROVIDER" in out and "anthropic" in out and "missing" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["status"], ["status", "--json"], ["models"], ["explain", "claude"], ["ask", "-m", "claude", "hi"],
        ["config", "check"], ["config", "path"], ["login", "openai"], ["logout", "openai"],
    ],
)
def test_every_command_exits_2_on_a_broken_config(capsys, config_file, argv):
    config_file.write_text(BROKEN)
    code, _out, err = run(capsys, *argv)
    assert code == 2
    assert "profiles.claude.provider" in (err + _out)
    assert "Traceback" not in err


def test_config_check_lists_every_problem_with_file_and_key(capsys, config_file):
    config_file.write_text(BROKEN + 'default_profile = "x"\n'.join(["", ""]) + '[profiles.b]\nprovider = "openai"\n')
    code, out, err = run(capsys, "config", "check")
    assert code == 2
    lines = out.strip().splitlines()
    # profiles.claude has an unknown field and (checked all the same) an unknown provider; profiles.b lacks a model.
    assert len(lines) == 3
    assert all(str(config_file) in line for line in lines)
    assert any("profiles.b.model" in line for line in lines)
    assert any("profiles.claude.provider" in line and "claude-code-mx" in line for line in lines)
    assert "3 problems in" in err


def test_config_check_counts_one_problem_in_the_singular(capsys, config_file):
    config_file.write_text('[profiles.b]\nprovider = "openai"\n')
    code, _out, err = run(capsys, "config", "check")
    assert code == 2 and err.startswith("tui-agent: 1 problem in ")


def test_config_check_ok(capsys, config_file):
    config_file.write_text('[profiles.a]\nprovider = "openai"\nmodel = "gpt-4o"\n')
    code, out, _err = run(capsys, "config", "check")
    assert code == 0
    assert "OK (1 profiles" in out


def test_config_check_syntax_error_has_line_and_column(capsys, config_file):
    config_file.write_text('[profiles.a\n')
    code, out, _err = run(capsys, "config", "check")
    assert code == 2
    assert "line 1" in out and "column" in out


def test_config_path_prints_every_location(capsys, isolated_home):
    code, out, _err = run(capsys, "config", "path")
    assert code == 0
    assert f"config   {isolated_home / 'config.toml'} (not created yet)" in out
    assert str(isolated_home / "data" / "history.db") in out
    assert str(isolated_home / "state" / "tui-agent.log") in out
    assert f"file {isolated_home / 'data' / 'credentials.json'} (0600)" in out


def test_explain_prints_the_chain_in_the_contract_layout(capsys, config_file, local_servers_down, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-0123456789abcdefWXYZ")
    config_file.write_text(local_servers_down + '[profiles.gpt]\nprovider = "openai"\nmodel = "gpt-4o"\n')
    code, out, _err = run(capsys, "explain", "gpt")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "1. profile  gpt           config.toml: profiles.gpt"
    assert lines[1] == "2. provider openai        catalog"
    assert lines[2] == "3. method   api-key       provider default"
    assert lines[3].startswith("4. credential  env:OPENAI_API_KEY sk-pro…WXYZ")
    assert lines[3].endswith("state ready")
    assert lines[4] == "5. adapter  openai-chat   model gpt-4o"
    assert "0123456789abcdef" not in out


def test_explain_shows_the_alias_and_a_profile_chosen_method(capsys, config_file, local_servers_down):
    config_file.write_text(
        local_servers_down
        + '[providers.lmstudio.headers]\nX-Team = "eng"\n'
        + '[profiles.c]\nprovider = "claude-code-max"\nmodel = "sonnet"\n'
        + '[profiles.s]\nprovider = "lmstudio"\nmodel = "qwen"\nauth = "api-key"\n'
    )
    code, out, _err = run(capsys, "explain", "c")
    assert code == 0
    assert "2. provider claude-code   catalog (`claude-code-max` is an alias of `claude-code`)" in out
    code, out, _err = run(capsys, "explain", "s")
    assert code == 0
    assert "3. method   api-key       profile setting (profiles.s.auth)" in out
    assert "state missing" in out  # a missing key is a state of the chain, not a reason to use `none`


def test_explain_unknown_profile_exits_2_with_choices(capsys, config_file):
    config_file.write_text('[profiles.claude]\nprovider = "claude-code"\nmodel = "sonnet"\n')
    code, _out, err = run(capsys, "explain", "claud")
    assert code == 2
    assert "no profile is called `claud`" in err and "`claude`" in err


def test_models_lists_profiles_with_availability(capsys, config_file, local_servers_down):
    config_file.write_text(
        local_servers_down
        + '[profiles.gpt]\nprovider = "openai"\nmodel = "gpt-4o"\n[profiles.local]\nprovider = "ollama"\nmodel = "llama3.2"\n'
    )
    code, out, _err = run(capsys, "models", "--json")
    assert code == 0
    rows = json.loads(out)
    by_profile = {r["profile"]: r for r in rows if r["origin"] == "profile"}
    assert set(by_profile) == {"gpt", "local"}
    for row in rows:
        assert set(row) == {"provider", "model", "profile", "origin", "available", "reason", "loaded"}
    assert by_profile["gpt"]["available"] is False and "tui-agent login openai" in by_profile["gpt"]["reason"]
    assert by_profile["local"]["available"] is False and "not running" in by_profile["local"]["reason"]


def test_models_with_unknown_provider_is_a_usage_error(capsys, local_servers_down):
    code, _out, err = run(capsys, "models", "--provider", "olama")
    assert code == 2
    assert "`olama`" in err and "ollama" in err


def test_ask_without_model_or_default_exits_2(capsys):
    code, _out, err = run(capsys, "ask", "hello")
    assert code == 2
    assert "-m NICK" in err and "default_profile" in err


def test_ask_with_missing_key_fails_at_request_time_with_exit_1(capsys, config_file):
    config_file.write_text('[profiles.gpt]\nprovider = "openai"\nmodel = "gpt-4o"\n')
    code, out, err = run(capsys, "ask", "-m", "gpt", "hello")
    assert code == 1
    assert out == ""
    assert "tui-agent login openai" in err


def test_global_options_work_after_the_subcommand(capsys, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(BROKEN)
    code, _out, _err = run(capsys, "config", "check", "--config", str(other))
    assert code == 2
    code, _out, _err = run(capsys, "--config", str(other), "config", "check")
    assert code == 2


# --- import qwen-profiles ---------------------------------------------------------------------------------


@pytest.fixture
def qwen_file(tmp_path: Path) -> Path:
    path = tmp_path / "model-profiles.json"
    source = FIXTURE.read_text() if FIXTURE.is_file() else json.dumps(QWEN_SAMPLE)
    path.write_text(source)
    return path


def test_import_qwen_profiles_maps_aliases_and_keeps_comments(capsys, config_file, qwen_file):
    config_file.write_text('# my settings\n[providers.ollama]  # the box under the desk\nbase_url = "http://127.0.0.1:11434"\n')
    code, out, err = run(capsys, "import", "qwen-profiles", str(qwen_file))
    assert code == 0, err
    text = config_file.read_text()
    assert "# my settings" in text and "# the box under the desk" in text
    from tui_agent.config.load import load_config

    config = load_config(config_file)
    assert config.profiles["claude"].provider == "claude-code"
    assert config.profiles["claude"].model == "sonnet"
    assert config.profiles["local"].provider == "ollama"
    assert config.profiles["gpt"].provider == "openai"
    assert config.profiles["studio"].provider == "lmstudio"
    assert "imported claude → claude-code, model sonnet (`claude-code-max` is now `claude-code`)" in out


def test_import_skips_existing_profiles_unless_forced(capsys, config_file, qwen_file):
    config_file.write_text('[profiles.gpt]\nprovider = "openai"\nmodel = "gpt-4.1"\n')
    code, out, _err = run(capsys, "import", "qwen-profiles", str(qwen_file))
    assert code == 0
    assert "skipped gpt" in out
    assert 'model = "gpt-4.1"' in config_file.read_text()
    code, out, _err = run(capsys, "import", "qwen-profiles", str(qwen_file), "--force")
    assert code == 0
    from tui_agent.config.load import load_config

    assert load_config(config_file).profiles["gpt"].model == "gpt-4o"


def test_import_reports_each_entry_it_cannot_map(capsys, config_file, tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps([
        {"nickname": "q", "provider": "qwen-oauth", "authType": "qwen-oauth"},
        {"nickname": "o", "provider": "openai", "authType": "oauth-personal"},
        {"nickname": "ok", "provider": "anthropic", "authType": "api-key"},
        {"provider": "openai"},
    ]))
    code, out, err = run(capsys, "import", "qwen-profiles", str(path))
    assert code == 0
    assert "cannot import p.json[0] `q`: unknown provider `qwen-oauth`" in err
    assert "p.json[1] `o`: authType `oauth-personal` needs auth method `claude-cli`" in err
    assert "p.json[3]: needs string fields nickname and provider" in err
    assert "1 imported, 0 skipped, 3 not importable" in out


def test_import_missing_file_is_a_usage_error(capsys, tmp_path):
    code, _out, err = run(capsys, "import", "qwen-profiles", str(tmp_path / "nope.json"))
    assert code == 2
    assert "no such file" in err


def test_import_never_rewrites_a_config_it_cannot_parse(capsys, config_file, qwen_file):
    config_file.write_text("[profiles.a\n")
    code, _out, _err = run(capsys, "import", "qwen-profiles", str(qwen_file))
    assert code == 2
    assert config_file.read_text() == "[profiles.a\n"


def test_the_tui_restores_garbage_collection_when_it_stops_before_a_frame(capsys, config_file):
    import gc

    config_file.write_text('default_profile = "nope"\n', encoding="utf-8")
    assert gc.isenabled()
    assert main(["--config", str(config_file)]) == 2
    assert "no profile is called `nope`" in capsys.readouterr().err
    assert gc.isenabled()


GATEWAY_FILE = """\
default_profile = "g"

[profiles.g]
provider = "gw"
model = "gpt-test"

# my team's gateway
[providers.gw]
kind = "openai-chat"
base_url = "https://llm.example.com/v1"
auth = ["api-key"]
"""


def test_import_keeps_a_comment_with_the_table_it_describes(capsys, config_file, qwen_file):
    config_file.write_text(GATEWAY_FILE)
    code, _out, err = run(capsys, "import", "qwen-profiles", str(qwen_file))
    assert code == 0, err
    text = config_file.read_text()
    assert "# my team's gateway\n[providers.gw]\n" in text  # still right above its table
    assert text.index("[profiles.claude]") < text.index("# my team's gateway")
    assert "\n\n\n" not in text
    import re

    for header in re.finditer(r"^\[", text, re.M):  # every table but the first has a blank line (or its comment) above
        if header.start() > text.index("[profiles.g]"):
            above = text[: header.start()].splitlines()[-1]
            assert above == "" or above.startswith("#"), text


def test_the_tui_runs_with_a_short_switch_interval_and_gives_it_back(isolated_home, monkeypatch):
    """Textual's frame-writing thread waits for the interpreter's lock for the switch interval while the event loop
    is busy: the TUI runs with a short one (a key's echo leaves for the terminal sooner), and restores it after."""
    import sys

    from tui_agent import cli
    from tui_agent.ui.app import TuiAgentApp

    seen: list[float] = []
    monkeypatch.setattr(TuiAgentApp, "run", lambda self: seen.append(sys.getswitchinterval()))
    before = sys.getswitchinterval()
    assert main([]) == 0
    assert seen == [cli.FRAME_WRITER_SWITCH_INTERVAL] and cli.FRAME_WRITER_SWITCH_INTERVAL < before
    assert sys.getswitchinterval() == before
