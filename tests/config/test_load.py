"""Loading, merging and validating the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_agent.config.load import check_config, load_config
from tui_agent.config.paths import Paths
from tui_agent.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(tmp_path: Path, text: str):
    _config, problems = check_config(write(tmp_path, text))
    return problems


def test_no_config_file_gives_the_catalog_and_no_default_profile(tmp_path):
    config = load_config(tmp_path / "absent.toml")
    assert set(config.providers) == {"anthropic", "claude-code", "openai", "openrouter", "azure-openai", "ollama", "lmstudio"}
    assert config.profiles == {}
    assert config.default_profile is None
    assert config.aliases == {"claude-code-max": "claude-code"}


def test_catalog_default_method_is_the_first_allowed(tmp_path):
    config = load_config(tmp_path / "absent.toml")
    assert config.providers["azure-openai"].auth == ["oauth-device", "api-key"]
    assert config.providers["azure-openai"].default_method == "oauth-device"
    assert config.providers["lmstudio"].default_method == "none"


def test_profile_with_unknown_provider_is_rejected(tmp_path):
    problems = problems_of(tmp_path, '[profiles.claude]\nprovider = "claude-code-mx"\nmodel = "sonnet"\n')
    assert len(problems) == 1
    problem = problems[0]
    assert problem.key == "profiles.claude.provider"
    assert problem.value == "claude-code-mx"
    assert problem.choices[0] == "claude-code-max"
    sentence = problem.sentence()
    assert str(tmp_path / "config.toml") in sentence
    assert "did you mean `claude-code-max`?" in sentence


def test_unknown_provider_makes_loading_fail_instead_of_falling_back(tmp_path):
    path = write(tmp_path, 'default_profile = "x"\n[profiles.x]\nprovider = "nope"\nmodel = "m"\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.exit_code == 2
    assert "profiles.x.provider" in str(err.value)


def test_alias_resolves_to_the_canonical_provider(tmp_path):
    config = load_config(write(tmp_path, '[profiles.c]\nprovider = "claude-code-max"\nmodel = "sonnet"\n'))
    assert config.canonical_provider_id("claude-code-max") == "claude-code"


def test_disallowed_auth_method_names_the_allowed_ones(tmp_path):
    problems = problems_of(tmp_path, '[profiles.g]\nprovider = "openai"\nmodel = "gpt-4o"\nauth = "oauth-device"\n')
    assert [p.key for p in problems] == ["profiles.g.auth"]
    assert problems[0].choices == ("api-key",)


def test_invalid_auth_method_name_is_a_located_error(tmp_path):
    problems = problems_of(tmp_path, '[profiles.g]\nprovider = "openai"\nmodel = "gpt-4o"\nauth = "oauth"\n')
    assert problems[0].key == "profiles.g.auth"
    assert "oauth-device" in problems[0].choices


def test_reasoning_effort_is_a_profile_key_with_located_validation(tmp_path):
    problems = problems_of(tmp_path, '[profiles.t]\nprovider = "openai"\nmodel = "o3"\nreasoning = "hgh"\n')
    assert [p.key for p in problems] == ["profiles.t.reasoning"]
    assert problems[0].choices[0] == "high" and set(problems[0].choices) == {"off", "low", "medium", "high"}
    assert "did you mean `high`?" in problems[0].sentence()


def test_all_problems_are_reported_at_once(tmp_path):
    problems = problems_of(
        tmp_path,
        'default_profile = "nobody"\n'
        '[profiles.a]\nprovider = "nope"\nmodel = "m"\n'
        '[profiles.b]\nprovider = "openai"\n'
        '[profiles.c]\nprovider = "ollama"\nmodel = "m"\ntemperature = "hot"\n',
    )
    keys = {p.key for p in problems}
    assert {"default_profile", "profiles.a.provider", "profiles.b.model", "profiles.c.temperature"} <= keys


def test_toml_syntax_error_gives_line_and_column(tmp_path):
    problems = problems_of(tmp_path, '[profiles.a]\nprovider = "openai"\nmodel = \n')
    assert len(problems) == 1
    assert "line 3" in problems[0].message and "column" in problems[0].message


def test_literal_secret_is_an_error_that_says_how_to_store_it(tmp_path):
    secret = "sk-proj-abcdefghijklmnopqrstuvwx"
    problems = problems_of(tmp_path, f'[providers.openai]\napi_key = "{secret}"\n')
    assert [p.key for p in problems] == ["providers.openai.api_key"]
    sentence = problems[0].sentence()
    assert secret not in sentence
    assert "tui-agent login openai" in sentence


def test_secret_looking_header_value_is_rejected(tmp_path):
    problems = problems_of(tmp_path, '[providers.openai.headers]\nAuthorization = "Bearer abcdefghijklmnopqrstuvwxyz"\n')
    assert problems and problems[0].key == "providers.openai.headers.Authorization"
    assert "abcdefghijklmnop" not in problems[0].sentence()


def test_user_table_overrides_fields_of_a_builtin_provider(tmp_path):
    config = load_config(write(tmp_path, '[providers.ollama]\nbase_url = "http://192.168.1.20:11434"\n'))
    ollama = config.providers["ollama"]
    assert ollama.base_url == "http://192.168.1.20:11434"
    assert ollama.kind == "ollama" and ollama.local  # untouched fields keep the catalog's values
    assert config.origins["providers.ollama"].startswith("catalog + config.toml")


def test_user_nested_oauth_table_merges_with_the_preset(tmp_path):
    config = load_config(
        write(tmp_path, '[providers.azure-openai.oauth]\ntenant = "contoso.onmicrosoft.com"\nclient_id = "abc"\n')
    )
    oauth = config.providers["azure-openai"].oauth
    assert oauth.tenant == "contoso.onmicrosoft.com"
    assert "https://cognitiveservices.azure.com/.default" in oauth.scopes  # kept from the catalog


def test_user_defined_provider_with_one_auth_method_as_a_string(tmp_path):
    config = load_config(
        write(
            tmp_path,
            '[providers.company-proxy]\nkind = "anthropic-messages"\nbase_url = "https://claude-proxy.example.com"\n'
            'auth = "api-key"\napi_key_env = "COMPANY_PROXY_KEY"\n'
            '[profiles.work]\nprovider = "company-proxy"\nmodel = "claude-sonnet-4-5"\n',
        )
    )
    assert config.providers["company-proxy"].auth == ["api-key"]
    assert config.origins["providers.company-proxy"] == "config.toml: providers.company-proxy"


def test_new_provider_without_kind_is_missing_a_required_field(tmp_path):
    problems = problems_of(tmp_path, '[providers.gw]\nbase_url = "https://x.example.com"\n')
    assert [(p.key, p.message) for p in problems] == [("providers.gw.kind", "missing required field")]


def test_unknown_kind_lists_the_wire_kinds(tmp_path):
    problems = problems_of(tmp_path, '[providers.gw]\nkind = "openai"\nbase_url = "https://x.example.com"\n')
    assert problems[0].key == "providers.gw.kind"
    assert problems[0].choices[0] == "openai-chat"


def test_unknown_profile_field_suggests_the_closest(tmp_path):
    problems = problems_of(tmp_path, '[profiles.a]\nprovider = "openai"\nmodel = "m"\ntemprature = 0.3\n')
    assert problems[0].key == "profiles.a.temprature"
    assert problems[0].choices[0] == "temperature"


def test_unused_builtin_provider_without_settings_is_not_an_error(tmp_path):
    # Azure has no resource URL in the catalog; nobody uses it, so the config is fine.
    assert problems_of(tmp_path, '[profiles.a]\nprovider = "openai"\nmodel = "m"\n') == []


def test_profile_on_provider_missing_required_settings_is_an_error(tmp_path):
    problems = problems_of(tmp_path, '[profiles.az]\nprovider = "azure-openai"\nmodel = "gpt-4o"\n')
    keys = {p.key for p in problems}
    assert keys == {"providers.azure-openai.base_url", "providers.azure-openai.oauth.client_id", "providers.azure-openai.oauth.tenant"}


def test_azure_with_api_key_method_needs_only_the_resource_url(tmp_path):
    problems = problems_of(
        tmp_path,
        '[providers.azure-openai]\nbase_url = "https://r.openai.azure.com/openai/v1"\n'
        '[profiles.az]\nprovider = "azure-openai"\nmodel = "gpt-4o"\nauth = "api-key"\n',
    )
    assert problems == []


def test_default_profile_must_name_a_profile(tmp_path):
    problems = problems_of(tmp_path, 'default_profile = "claud"\n[profiles.claude]\nprovider = "claude-code"\nmodel = "sonnet"\n')
    assert problems[0].key == "default_profile"
    assert problems[0].choices == ("claude",)


def test_base_url_must_be_http(tmp_path):
    problems = problems_of(tmp_path, '[providers.ollama]\nbase_url = "ftp://host"\n')
    assert problems[0].key == "providers.ollama.base_url"


def test_paths_precedence(tmp_path):
    env = {"TUI_AGENT_HOME": str(tmp_path / "home"), "TUI_AGENT_CONFIG": str(tmp_path / "env.toml")}
    assert Paths.resolve(tmp_path / "flag.toml", env).config_file == tmp_path / "flag.toml"
    assert Paths.resolve(None, env).config_file == tmp_path / "env.toml"
    home_only = Paths.resolve(None, {"TUI_AGENT_HOME": str(tmp_path / "home")})
    assert home_only.config_file == tmp_path / "home" / "config.toml"
    assert home_only.data_dir == tmp_path / "home" / "data"
    assert home_only.state_dir == tmp_path / "home" / "state"
    xdg = Paths.resolve(None, {"XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d"), "XDG_STATE_HOME": str(tmp_path / "s")})
    assert xdg.config_file == tmp_path / "c" / "tui-agent" / "config.toml"
    assert xdg.history_db == tmp_path / "d" / "tui-agent" / "history.db"
    assert xdg.log_file == tmp_path / "s" / "tui-agent" / "tui-agent.log"


def test_a_bad_value_and_a_disallowed_auth_method_in_one_profile_are_both_reported(tmp_path):
    problems = problems_of(
        tmp_path, '[profiles.p]\nprovider = "openai"\nmodel = "gpt-4o"\ntemperature = "hot"\nauth = "oauth-device"\n'
    )
    sentences = [p.sentence() for p in problems]
    assert any("profiles.p.temperature" in s for s in sentences), sentences
    assert any("profiles.p.auth" in s and "does not allow auth method `oauth-device`" in s for s in sentences), sentences


@pytest.mark.parametrize(
    ("body", "key", "said"),
    [
        ('temperature = "hot"', "temperature", "must be a number from 0 to 2 (got 'hot')"),
        ("temperature = 3", "temperature", "must be a number from 0 to 2 (got 3)"),
        ("top_p = 0", "top_p", "must be a number more than 0 and at most 1 (got 0)"),
        ('max_tokens = "lots"', "max_tokens", "must be a whole number more than 0 (got 'lots')"),
        ("max_tokens = 1.5", "max_tokens", "must be a whole number more than 0 (got 1.5)"),
        ("model = 5", "model", "must be text in quotes (got 5)"),
    ],
)
def test_value_problems_are_said_in_the_projects_words_not_pydantics(tmp_path, body, key, said):
    problems = problems_of(tmp_path, f'[profiles.p]\nprovider = "openai"\nmodel = "m"\n{body}\n'.replace('model = "m"\nmodel', "model"))
    mine = [p for p in problems if p.key == f"profiles.p.{key}"]
    assert [p.message for p in mine] == [said], [p.sentence() for p in problems]
    assert not any("Input should" in p.sentence() or "pydantic" in p.sentence() for p in problems)


def test_ui_and_provider_values_are_in_the_projects_words(tmp_path):
    problems = problems_of(tmp_path, '[ui]\nresume_last = "sometimes"\n[providers.ollama]\nlocal = 3\n[providers.ollama.timeouts]\nread = "long"\n')
    by_key = {p.key: p.message for p in problems}
    assert by_key["ui.resume_last"] == "must be true or false (got 'sometimes')", by_key
    assert by_key["providers.ollama.timeouts.read"].startswith("must be a number"), by_key
    assert not any("Input should" in m for m in by_key.values()), by_key
