"""config/edit.py: explicit-user-action edits keep comments and order, are checked before they land, never write secrets."""

from __future__ import annotations

import os
import tomllib

import pytest

from tui_agent.config.edit import add_profile, set_default_profile, set_provider_field
from tui_agent.config.load import load_config
from tui_agent.errors import ConfigError

USER_FILE = """\
# my tui-agent config — hand written, please keep my notes
default_profile = "claude"   # the one I use most

[profiles.claude]
provider = "claude-code"        # my subscription
model = "sonnet"

# local models go below
[profiles.local]
provider = "ollama"
model = "llama3.2"
temperature = 0.2
"""


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(USER_FILE, encoding="utf-8")
    return path


def test_set_default_profile_changes_only_that_value_and_keeps_comments(config_file):
    set_default_profile(config_file, "local")
    text = config_file.read_text(encoding="utf-8")
    assert text == USER_FILE.replace('default_profile = "claude"', 'default_profile = "local"')
    assert load_config(config_file).default_profile == "local"


def test_set_default_profile_is_added_above_the_tables_when_missing(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(USER_FILE.replace('default_profile = "claude"   # the one I use most\n', ""), encoding="utf-8")
    set_default_profile(path, "claude")
    text = path.read_text(encoding="utf-8")
    assert text.index('default_profile = "claude"') < text.index("[profiles.claude]")
    assert "# local models go below" in text and "# my subscription" in text
    assert load_config(path).default_profile == "claude"


def test_default_profile_naming_no_profile_is_refused_and_the_file_is_untouched(config_file):
    with pytest.raises(ConfigError) as err:
        set_default_profile(config_file, "nope")
    assert "no profile is called `nope`" in str(err.value)
    assert str(config_file) in str(err.value)
    assert config_file.read_text(encoding="utf-8") == USER_FILE
    assert [p.name for p in config_file.parent.iterdir()] == ["config.toml"]  # no temporary file left behind


def test_add_profile_appends_a_table_and_keeps_everything_else(config_file):
    add_profile(config_file, "qwen", "ollama", "qwen3:8b", temperature=0.5)
    text = config_file.read_text(encoding="utf-8")
    assert text.startswith(USER_FILE)
    data = tomllib.loads(text)
    assert data["profiles"]["qwen"] == {"provider": "ollama", "model": "qwen3:8b", "temperature": 0.5}
    assert load_config(config_file).profiles["qwen"].model == "qwen3:8b"


def test_add_profile_then_default_works_on_a_config_file_that_does_not_exist_yet(tmp_path):
    path = tmp_path / "fresh" / "config.toml"
    add_profile(path, "llama", "ollama", "llama3.2:latest")
    set_default_profile(path, "llama")
    config = load_config(path)
    assert config.default_profile == "llama"
    assert config.profiles["llama"].provider == "ollama"


def test_add_profile_refuses_an_existing_nickname(config_file):
    with pytest.raises(ConfigError, match="already exists"):
        add_profile(config_file, "local", "ollama", "qwen3:8b")
    assert config_file.read_text(encoding="utf-8") == USER_FILE


def test_add_profile_refuses_a_nickname_that_is_not_a_bare_key(config_file):
    with pytest.raises(ConfigError, match="nickname is letters"):
        add_profile(config_file, "ollama/llama3.2", "ollama", "llama3.2")


def test_add_profile_with_an_unknown_provider_is_refused_with_the_choices(config_file):
    with pytest.raises(ConfigError) as err:
        add_profile(config_file, "x", "olama", "llama3.2")
    assert "unknown provider `olama`" in str(err.value) and "`ollama`" in str(err.value)
    assert config_file.read_text(encoding="utf-8") == USER_FILE


def test_set_provider_field_overrides_a_catalog_provider_in_a_new_table(config_file):
    set_provider_field(config_file, "ollama", "base_url", "http://192.168.1.20:11434")
    text = config_file.read_text(encoding="utf-8")
    assert text.startswith(USER_FILE)
    assert load_config(config_file).providers["ollama"].base_url == "http://192.168.1.20:11434"


def test_set_provider_field_reaches_sub_tables_and_keeps_inline_comments(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[providers.azure-openai]   # work\nbase_url = "https://old.openai.azure.com/openai/v1"   # resource\n',
        encoding="utf-8",
    )
    set_provider_field(path, "azure-openai", "base_url", "https://new.openai.azure.com/openai/v1")
    set_provider_field(path, "azure-openai", "oauth.tenant", "contoso.onmicrosoft.com")
    text = path.read_text(encoding="utf-8")
    assert "# work" in text and "# resource" in text
    provider = load_config(path).providers["azure-openai"]
    assert provider.base_url == "https://new.openai.azure.com/openai/v1"
    assert provider.oauth.tenant == "contoso.onmicrosoft.com"
    # the catalog's scopes still apply under the user's partial oauth table
    assert "offline_access" in provider.oauth.scopes


def test_set_provider_field_with_an_invalid_value_is_refused(config_file):
    with pytest.raises(ConfigError, match="http:// or https://"):
        set_provider_field(config_file, "ollama", "base_url", "ftp://example.com")
    assert config_file.read_text(encoding="utf-8") == USER_FILE


def test_a_secret_key_is_never_written(config_file):
    with pytest.raises(ConfigError, match="never written") as err:
        set_provider_field(config_file, "openai", "api_key", "sk-proj-abcdefghijklmnop1234")
    assert "sk-proj" not in str(err.value)
    assert config_file.read_text(encoding="utf-8") == USER_FILE


def test_a_secret_looking_value_is_refused_before_anything_is_written(config_file, monkeypatch):
    written = []
    real_mkstemp = __import__("tempfile").mkstemp
    monkeypatch.setattr("tempfile.mkstemp", lambda *a, **k: written.append(1) or real_mkstemp(*a, **k))
    with pytest.raises(ConfigError, match="literal secret") as err:
        set_provider_field(config_file, "openai", "api_key_header", "sk-proj-abcdefghijklmnop1234")
    assert "sk-proj" not in str(err.value)
    assert written == []
    assert config_file.read_text(encoding="utf-8") == USER_FILE


def test_an_edit_is_not_blamed_for_problems_the_file_already_had(tmp_path):
    path = tmp_path / "config.toml"
    broken = '[profiles.old]\nprovider = "nowhere"\nmodel = "m"\n'
    path.write_text(broken, encoding="utf-8")
    add_profile(path, "local", "ollama", "llama3.2")
    assert tomllib.loads(path.read_text(encoding="utf-8"))["profiles"]["local"]["model"] == "llama3.2"


def test_a_file_that_is_not_toml_is_left_alone(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("default_profile = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        set_default_profile(path, "x")
    assert path.read_text(encoding="utf-8") == "default_profile = \n"


def test_the_file_mode_is_kept(config_file):
    os.chmod(config_file, 0o640)
    set_default_profile(config_file, "local")
    assert config_file.stat().st_mode & 0o777 == 0o640


COMMENTED = """\
# my settings
[providers.ollama]
base_url = "http://127.0.0.1:11434"  # the box under the desk

[profiles.a]
provider = "ollama"
model = "llama3.2"
# model = "qwen3" was too slow

# my team's gateway
[providers.gw]
kind = "openai-chat"
base_url = "https://llm.example.com/v1"
auth = ["api-key"]
"""


def test_a_new_profile_does_not_come_between_a_comment_and_its_table(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    add_profile(path, "b", "ollama", "qwen3")
    text = path.read_text(encoding="utf-8")
    assert "# my team's gateway\n[providers.gw]\n" in text
    assert '# model = "qwen3" was too slow\n\n[profiles.b]\n' in text  # the profile's own note stays with it
    assert text.index("[profiles.b]") < text.index("# my team's gateway")
    assert "\n\n\n" not in text
    assert load_config(path).profiles["b"].model == "qwen3"


def test_saving_a_base_url_keeps_a_blank_line_before_the_next_table(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED, encoding="utf-8")
    set_provider_field(path, "lmstudio", "base_url", "http://127.0.0.1:1234/v1")  # a new table between two
    set_provider_field(path, "ollama", "api_key_env", "OLLAMA_KEY")  # a key added to a table followed by a blank line
    set_provider_field(path, "gw", "api_key_env", "GW_KEY")
    text = path.read_text(encoding="utf-8")
    assert '[providers.lmstudio]\nbase_url = "http://127.0.0.1:1234/v1"\n\n[profiles.a]' in text
    assert 'base_url = "http://127.0.0.1:11434"  # the box under the desk\napi_key_env = "OLLAMA_KEY"\n\n' in text
    assert '# my team\'s gateway\n[providers.gw]\n' in text and text.endswith('api_key_env = "GW_KEY"\n')
    assert "\n\n\n" not in text
    assert load_config(path).providers["lmstudio"].base_url == "http://127.0.0.1:1234/v1"
