"""The resolver: profile → provider → method, each step recorded; broken links raise, never fall back."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_agent.auth.resolve import resolve
from tui_agent.config.load import Config, load_config
from tui_agent.config.schema import ProfileConfig
from tui_agent.errors import ResolutionError


def config_from(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def test_chain_records_every_step_with_its_origin(tmp_path):
    config = config_from(tmp_path, '[profiles.claude]\nprovider = "claude-code"\nmodel = "sonnet"\n')
    chain = resolve(config, "claude")
    assert [(s.link, s.found, s.origin) for s in chain.steps] == [
        ("profile", "claude", "config.toml: profiles.claude"),
        ("provider", "claude-code", "catalog"),
        ("method", "claude-cli", "provider default"),
    ]
    assert chain.adapter_kind == "claude-cli"


def test_profile_auth_choice_is_used_and_recorded(tmp_path):
    config = config_from(
        tmp_path,
        '[providers.azure-openai]\nbase_url = "https://r.openai.azure.com/openai/v1"\n'
        '[profiles.az]\nprovider = "azure-openai"\nmodel = "gpt-4o"\nauth = "api-key"\n',
    )
    chain = resolve(config, "az")
    assert chain.method == "api-key"
    assert chain.steps[2].origin == "profile setting (profiles.az.auth)"
    assert chain.steps[1].origin == "catalog + config.toml: providers.azure-openai"


def test_unknown_nickname_names_the_closest_profiles(tmp_path):
    config = config_from(tmp_path, '[profiles.claude]\nprovider = "claude-code"\nmodel = "sonnet"\n')
    with pytest.raises(ResolutionError) as err:
        resolve(config, "cluade")
    assert "no profile is called `cluade`" in str(err.value)
    assert err.value.problems[0].choices == ("claude",)


def test_a_profile_naming_an_unregistered_provider_raises_instead_of_falling_back(tmp_path):
    # A Config assembled in memory (as a session profile would be) that bypassed load-time validation:
    # the resolver still refuses it, naming the link, and does not pick another provider.
    config = config_from(tmp_path, "")
    broken = Config(
        file=config.file, providers=config.providers, aliases=config.aliases, origins=config.origins,
        profiles={"old": ProfileConfig(nickname="old", provider="claude-code-maxx", model="sonnet")},
    )
    with pytest.raises(ResolutionError) as err:
        resolve(broken, "old")
    problem = err.value.problems[0]
    assert problem.key == "profiles.old.provider"
    assert problem.choices[0] == "claude-code-max"
    assert err.value.exit_code == 2


def test_disallowed_method_in_memory_is_refused(tmp_path):
    config = config_from(tmp_path, "")
    broken = Config(
        file=config.file, providers=config.providers, aliases=config.aliases, origins=config.origins,
        profiles={"g": ProfileConfig(nickname="g", provider="openai", model="gpt-4o", auth="none")},
    )
    with pytest.raises(ResolutionError) as err:
        resolve(broken, "g")
    assert "does not allow auth method `none`" in str(err.value)


def test_missing_provider_settings_are_a_broken_link(tmp_path):
    config = config_from(tmp_path, "")
    broken = Config(
        file=config.file, providers=config.providers, aliases=config.aliases, origins=config.origins,
        profiles={"az": ProfileConfig(nickname="az", provider="azure-openai", model="gpt-4o")},
    )
    with pytest.raises(ResolutionError) as err:
        resolve(broken, "az")
    assert {p.key for p in err.value.problems} == {
        "providers.azure-openai.base_url", "providers.azure-openai.oauth.client_id", "providers.azure-openai.oauth.tenant",
    }
