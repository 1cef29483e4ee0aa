"""The start-up cache: a validated config is rebuilt without validating only when nothing it came from changed."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tui_agent.config import cache, load
from tui_agent.config.load import check_config, load_config
from tui_agent.errors import ConfigError

CONFIG = """default_profile = "work"

[profiles.work]
provider = "gw"
model = "gpt-test"
temperature = 0.5
reasoning = "medium"

[providers.gw]
kind = "openai-chat"
base_url = "https://llm.example.com/v1/"
auth = "api-key"
headers = { "X-Team" = "blue" }
timeouts = { read = 30 }
oauth = { issuer = "https://sso.example.com", client_id = "abc", scopes = ["a", "b"] }

[ui]
side_panel = "hide"
"""


@pytest.fixture
def files(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return config, tmp_path / "state" / "config-cache.json"


def no_validation(monkeypatch):
    """Any validation from here on fails the test: a load must come from the cache."""

    def refuse(_path):
        raise AssertionError("validated again although nothing changed")

    monkeypatch.setattr(load, "check_config", refuse)


def test_a_cached_config_equals_the_validated_one_and_needs_no_validation(files, monkeypatch):
    config_file, cache_file = files
    validated = load_config(config_file, cache=cache_file)
    assert cache_file.is_file()
    no_validation(monkeypatch)
    cached = load_config(config_file, cache=cache_file)
    assert cached == validated
    gw = cached.providers["gw"]
    assert gw.base_url == "https://llm.example.com/v1"  # the validator's normalisation is what was kept
    assert gw.auth == ["api-key"] and gw.timeouts.read == 30 and gw.oauth.scopes == ["a", "b"]
    assert cached.ui.side_panel == "hide" and cached.origins == validated.origins


def test_first_run_without_a_config_file_is_cached_too(tmp_path, monkeypatch):
    absent, cache_file = tmp_path / "config.toml", tmp_path / "config-cache.json"
    validated = load_config(absent, cache=cache_file)
    no_validation(monkeypatch)
    assert load_config(absent, cache=cache_file) == validated


def test_any_edit_of_config_toml_is_validated_again(files):
    config_file, cache_file = files
    load_config(config_file, cache=cache_file)
    # same size, same second: only the text tells the difference
    config_file.write_text(CONFIG.replace("temperature = 0.5", "temperature = 9.5"), encoding="utf-8")
    with pytest.raises(ConfigError, match="temperature"):
        load_config(config_file, cache=cache_file)


def test_a_config_made_invalid_by_a_new_catalog_or_code_is_validated_again(files, monkeypatch, tmp_path):
    config_file, cache_file = files
    code = tmp_path / "schema.py"
    code.write_text("# v1")
    monkeypatch.setattr(cache, "_CODE", (code,))
    first = load_config(config_file, cache=cache_file)
    calls = []
    real_check = load.check_config
    monkeypatch.setattr(load, "check_config", lambda path: calls.append(path) or real_check(path))

    code.write_text("# version 2")  # the validating code changed
    assert load_config(config_file, cache=cache_file) == first
    assert len(calls) == 1

    monkeypatch.setattr(load, "read_catalog_text", lambda: "[providers.other]\nkind = 'ollama'\n")
    monkeypatch.setattr(cache, "read_catalog_text", load.read_catalog_text)
    load_config(config_file, cache=cache_file)
    assert len(calls) == 2


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"inputs": 1}', b"[]"])
def test_an_unreadable_or_foreign_cache_means_validation(files, content):
    config_file, cache_file = files
    cache_file.parent.mkdir(parents=True)
    cache_file.write_bytes(content)
    assert load_config(config_file, cache=cache_file) == check_config(config_file)[0]


def test_a_cache_whose_fields_no_longer_fit_means_validation(files):
    config_file, cache_file = files
    load_config(config_file, cache=cache_file)
    saved = json.loads(cache_file.read_bytes())
    saved["config"]["providers"]["gw"]["renamed_field"] = 1
    cache_file.write_text(json.dumps(saved))
    assert load_config(config_file, cache=cache_file) == check_config(config_file)[0]


def test_a_broken_config_is_never_cached_and_always_reported(files):
    config_file, cache_file = files
    config_file.write_text(CONFIG.replace('provider = "gw"', 'provider = "gww"'), encoding="utf-8")
    for _ in range(2):
        with pytest.raises(ConfigError, match="unknown provider"):
            load_config(config_file, cache=cache_file)
    assert not cache_file.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_the_cache_file_is_private_and_a_failed_write_costs_nothing(files):
    config_file, cache_file = files
    load_config(config_file, cache=cache_file)
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600
    blocked = cache_file.parent / "blocked"
    blocked.write_text("a file where a directory should be")
    assert load_config(config_file, cache=blocked / "config-cache.json").default_profile == "work"


def test_a_cached_start_does_not_import_pydantic(files):
    config_file, cache_file = files
    load_config(config_file, cache=cache_file)
    probe = (
        "import sys; from pathlib import Path; from tui_agent.config.load import load_config; "
        f"c = load_config(Path({str(config_file)!r}), cache=Path({str(cache_file)!r})); "
        "print(c.default_profile, 'pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.split() == ["work", "False"]


def test_a_file_edited_while_it_is_validated_is_validated_again_next_time(files, monkeypatch):
    config_file, cache_file = files
    real_check = load.check_config

    def check_then_edit(path):
        result = real_check(path)
        path.write_text(CONFIG.replace("temperature = 0.5", "temperature = 0.7"), encoding="utf-8")  # saved meanwhile
        return result

    monkeypatch.setattr(load, "check_config", check_then_edit)
    assert load_config(config_file, cache=cache_file).profiles["work"].temperature == 0.5
    monkeypatch.setattr(load, "check_config", real_check)
    assert load_config(config_file, cache=cache_file).profiles["work"].temperature == 0.7
