"""The model picker, driven with Pilot over a real AgentService, a tmp config.toml and loopback provider fakes."""

from __future__ import annotations

import dataclasses
import asyncio
import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Input, OptionList, Static

import tui_agent.auth.credentials as credentials
from tests.fakes import FakeOllama, FakeOpenAI
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.config.schema import ProfileConfig
from tui_agent.errors import ProviderError
from tui_agent.core.chat import ModelInfo
from tui_agent.service.agent import AgentService
from tui_agent.ui import recents
from tui_agent.ui.screens.model_picker import ModelPicker, PickerResult, suggest_nickname

OPENAI_KEY = "sk-test-picker-0123456789abcdef"


# --- fixtures and helpers ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def patient_connect_check(monkeypatch):
    """The machine is shared and a busy Textual loop delays the 0.3 s loopback connect check; give it room."""
    real = credentials.tcp_reachable

    async def patient(base_url: str, timeout: float = 0.3) -> bool:
        return await real(base_url, 10.0)

    monkeypatch.setattr(credentials, "tcp_reachable", patient)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def ollama():
    with FakeOllama(models=("llama3.2:latest", "qwen3:8b"), loaded=("qwen3:8b",)) as fake:
        yield fake


@pytest.fixture
def openai():
    with FakeOpenAI(api_key=OPENAI_KEY, models=("gpt-test", "gpt-test-mini")) as fake:
        yield fake


def write_config(home: Path, text: str) -> Path:
    path = home / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def standard_config(ollama_url: str, openai_url: str, *, default: str | None = "local") -> str:
    head = f'default_profile = "{default}"   # what I use most\n' if default else ""
    return f"""# my picks — keep this comment
{head}
[profiles.local]   # the small one
provider = "ollama"
model = "llama3.2:latest"

[profiles.gpt]
provider = "openai"
model = "gpt-test"

[profiles.sonnet]
provider = "anthropic"
model = "claude-sonnet-4-5"

[providers.ollama]
base_url = "{ollama_url}"

[providers.openai]
base_url = "{openai_url}"

[providers.lmstudio]
base_url = "http://127.0.0.1:{closed_port()}/v1"
"""


def make_service(adapters=None, **env: str) -> AgentService:
    """`adapters`: provider id → the adapter to use instead of the built-in one."""
    paths = Paths.resolve()
    adapters = adapters or {}
    # No keys but the ones given, the file secret store, and no `claude` found on PATH.
    return AgentService(
        load_config(paths.config_file), paths, env={"TUI_AGENT_KEYRING": "file", "PATH": "/nonexistent", **env},
        adapter_factory=lambda provider, _client: adapters.get(provider.id),
    )


class PickerHost(App):
    """A bare app that opens the picker and keeps what it was dismissed with."""

    def __init__(self, picker: ModelPicker) -> None:
        super().__init__()
        self.picker = picker
        self.results: list[PickerResult] = []

    def on_mount(self) -> None:
        self.push_screen(self.picker, self.results.append)


async def settle(pilot, picker: ModelPicker) -> None:
    """Wait until every provider's state and model list is on screen (bounded only as a guard against a hang)."""
    for _ in range(2000):
        await pilot.pause(0.01)
        if not picker.loading:
            break
    else:
        raise AssertionError("the picker never finished loading")
    await pilot.pause()


def rows(picker: ModelPicker) -> list[str]:
    option_list = picker.query_one("#picker-list", OptionList)
    return [str(option_list.get_option_at_index(i).prompt).strip() for i in range(option_list.option_count)]


def highlighted(picker: ModelPicker) -> str:
    option = picker.query_one("#picker-list", OptionList).highlighted_option
    return str(option.prompt).strip() if option else ""


def message(picker: ModelPicker) -> str:
    return str(picker.query_one("#picker-message", Static).content).strip()


def detail(picker: ModelPicker) -> str:
    """The detail pane as the plain text a person reads."""
    from rich.console import Console

    console = Console(width=60, record=True, file=open(os.devnull, "w"))
    console.print(picker.query_one("#picker-detail", Static).content)
    return console.export_text()


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)
    await pilot.pause()


async def highlight_row(pilot, picker: ModelPicker, starts_with: str) -> None:
    """Move the highlight with the arrow keys (as a person would) to the first row starting with `starts_with`."""
    texts = rows(picker)
    target = next(i for i, t in enumerate(texts) if t.lstrip("★ ").startswith(starts_with))
    option_list = picker.query_one("#picker-list", OptionList)
    for _ in range(len(texts)):
        if option_list.highlighted == target:
            break
        await pilot.press("down" if option_list.highlighted is None or option_list.highlighted < target else "up")
    assert option_list.highlighted == target, f"could not reach {starts_with!r}"
    await pilot.pause()


# --- groups ------------------------------------------------------------------------------------------------------


async def test_profiles_and_discovered_models_are_grouped_under_their_providers_state(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, current="local")
    async with PickerHost(picker).run_test(size=(120, 40)) as pilot:
        await settle(pilot, picker)
        texts = rows(picker)
        ollama_at = next(i for i, t in enumerate(texts) if t.startswith("✓ Ollama"))
        openai_at = next(i for i, t in enumerate(texts) if t.startswith("✓ OpenAI"))
        # The name and the id never run together, even where a picture drops the spaces between two styles.
        assert texts[ollama_at].startswith("✓ Ollama (ollama) · ready")
        assert texts[openai_at].startswith("✓ OpenAI (openai) · ready")
        # Ollama's group: the profile, then the discovered model no profile names (llama3.2 is not listed twice).
        assert texts[ollama_at + 1].startswith("local") and "current" in texts[ollama_at + 1]
        assert texts[ollama_at + 2].startswith("qwen3:8b") and "discovered" in texts[ollama_at + 2] and "loaded" in texts[ollama_at + 2]
        assert sum("llama3.2:latest" in t for t in texts) == 1
        assert texts[openai_at + 1].startswith("gpt") and texts[openai_at + 2].startswith("gpt-test-mini")
        # The current profile is highlighted and described.
        assert highlighted(picker).startswith("local")
        assert "Ollama (ollama)" in detail(picker) and "no (loads on first use)" in detail(picker)
    await service.aclose()


async def test_a_profile_naming_an_ollama_model_without_its_tag_hides_the_discovered_twin(isolated_home, ollama, openai):
    config = standard_config(ollama.base_url, openai.base_url).replace('model = "llama3.2:latest"', 'model = "llama3.2"')
    write_config(isolated_home, config)
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, current="local")
    async with PickerHost(picker).run_test(size=(120, 40)) as pilot:
        await settle(pilot, picker)
        assert not any("llama3.2:latest" in t for t in rows(picker)), rows(picker)
    await service.aclose()


async def test_the_detail_pane_shows_context_window_and_loaded_state_of_a_discovered_model(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    async with PickerHost(picker).run_test(size=(120, 40)) as pilot:
        await settle(pilot, picker)
        await highlight_row(pilot, picker, "qwen3:8b")
        text = detail(picker)
        assert "ollama/qwen3:8b" in text and "session profile until saved" in text
        assert "8,192 tokens" in text  # from /api/ps
        assert "yes, in memory" in text
        assert "none · source none" in text
    await service.aclose()


async def test_discovery_runs_after_the_modal_is_shown_and_fills_in_later(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    gate = asyncio.Event()

    class GatedAdapter:
        async def list_models(self, credential):
            await gate.wait()
            return [ModelInfo("openai", "gpt-gated", context_window=32000, capabilities=("vision", "tools"))]

    service = make_service({"openai": GatedAdapter()}, OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    async with PickerHost(picker).run_test(size=(120, 40)) as pilot:
        for _ in range(2000):  # until everything but the gated list has arrived
            await pilot.pause(0.01)
            if set(picker._loading) == {"openai"} and not picker._rebuild_pending:
                break
        texts = rows(picker)
        openai_at = next(i for i, t in enumerate(texts) if t.startswith("✓ OpenAI"))
        assert texts[openai_at + 1].startswith("gpt")
        assert texts[openai_at + 2] == "looking for models…"
        assert not any("gpt-gated" in t for t in texts)
        gate.set()
        await settle(pilot, picker)
        assert any(t.startswith("gpt-gated") for t in rows(picker))
        await highlight_row(pilot, picker, "gpt-gated")
        assert "32,000 tokens" in detail(picker) and "vision, tools" in detail(picker)
    await service.aclose()


async def test_a_model_list_that_cannot_be_read_is_said_in_its_group(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    class FailingAdapter:
        async def list_models(self, credential):
            raise ProviderError("OpenAI answered 503 at /v1/models; try again later")

    service = make_service({"openai": FailingAdapter()}, OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    async with PickerHost(picker).run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        texts = rows(picker)
        openai_at = next(i for i, t in enumerate(texts) if t.startswith("✓ OpenAI"))
        assert texts[openai_at + 2] == "model list unavailable: OpenAI answered 503 at /v1/models; try again later"
    await service.aclose()


# --- providers that cannot serve ---------------------------------------------------------------------------------


async def test_providers_that_cannot_serve_are_shown_disabled_with_the_reason(isolated_home, openai):
    down = f"http://127.0.0.1:{closed_port()}"
    write_config(isolated_home, standard_config(down, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    async with PickerHost(picker).run_test(size=(200, 50)) as pilot:
        await settle(pilot, picker)
        texts = rows(picker)
        sonnet = next(t for t in texts if t.startswith("sonnet"))
        assert "unavailable: no API key — run /login anthropic or set ANTHROPIC_API_KEY" in sonnet
        local = next(t for t in texts if t.startswith("local"))
        host = down.removeprefix("http://")
        assert f"unavailable: Ollama not running at {host}" in local
        assert any(t.startswith("⊘ Ollama") and "unreachable" in t for t in texts)
        # A provider with no profile that cannot serve still has a row, to connect it.
        openrouter_at = next(i for i, t in enumerate(texts) if t.startswith("○ OpenRouter"))
        assert texts[openrouter_at + 1].strip().startswith("connect: no API key — run /login openrouter")
        # The first highlighted row is one that can be used now.
        assert highlighted(picker).startswith("gpt")

        await highlight_row(pilot, picker, "sonnet")
        await pilot.press("enter")
        await pilot.pause()
        assert picker.app.results == [] and picker.is_current
        assert "sonnet cannot be used now: no API key — run /login anthropic" in message(picker)
    await service.aclose()


async def test_connect_returns_the_provider_and_the_login_hint(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await highlight_row(pilot, picker, "sonnet")
        await pilot.press("ctrl+l")
        await pilot.pause()
    assert len(host.results) == 1
    result = host.results[0]
    assert result.action == "connect" and result.provider == "anthropic"
    assert "/login anthropic" in result.message
    await service.aclose()


async def test_enter_on_a_connect_row_connects(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "openrouter")
        assert highlighted(picker).startswith("connect")
        await pilot.press("enter")
        await pilot.pause()
    assert [(r.action, r.provider) for r in host.results] == [("connect", "openrouter")]
    assert "run /login openrouter" in host.results[0].message
    await service.aclose()


# --- filtering and switching ---------------------------------------------------------------------------------------


async def test_typing_filters_fuzzily_and_enter_switches_to_the_best_match(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "qw8")
        assert [t.split()[0] for t in rows(picker)] == ["✓", "qwen3:8b"]
        await pilot.press("backspace", "backspace", "backspace")
        await type_text(pilot, "gtmini")
        assert any(t.startswith("gpt-test-mini") for t in rows(picker))
        assert not any(t.startswith("local") for t in rows(picker))
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "qw8")
        await pilot.press("enter")
        await pilot.pause()
    (result,) = host.results
    assert result.action == "switch"
    assert result.nickname == "ollama/qwen3:8b" and result.is_session_profile
    assert result.chain.provider.id == "ollama" and result.chain.profile.model == "qwen3:8b" and result.chain.method == "none"
    assert "session profile" in result.message
    # A session switch does not touch config.toml.
    assert result.config is None and "qwen3" not in (isolated_home / "config.toml").read_text(encoding="utf-8")
    await service.aclose()


async def test_nothing_matching_says_so_and_enter_does_nothing(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "zzzzqqq")
        assert rows(picker) == []
        assert "Nothing matches" in detail(picker)
        await pilot.press("enter")
        await pilot.pause()
        assert host.results == [] and "change the filter" in message(picker)
    await service.aclose()


async def test_a_profile_switch_carries_the_resolved_chain(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, current="local")
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "gpt")
        assert highlighted(picker).startswith("gpt ")
        await pilot.press("enter")
        await pilot.pause()
    (result,) = host.results
    assert (result.action, result.nickname, result.is_session_profile, result.saved_default) == ("switch", "gpt", False, False)
    assert [step.link for step in result.chain.steps] == ["profile", "provider", "method"]
    assert result.chain.method == "api-key" and result.profile.model == "gpt-test"
    assert result.message == "Switched to gpt (openai · gpt-test)."
    await service.aclose()


async def test_a_broken_chain_keeps_the_picker_open_and_shows_the_reason(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    # A profile naming a method its provider does not allow: config loading rejects it, so build the Config directly.
    broken = ProfileConfig(nickname="gpt-noauth", provider="openai", model="gpt-test", auth="none")
    service.config = replace(service.config, profiles={**service.config.profiles, "gpt-noauth": broken})
    picker = ModelPicker(service, current="local")
    host = PickerHost(picker)
    async with host.run_test(size=(200, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "gpt-noauth")
        assert highlighted(picker).startswith("gpt-noauth")
        await pilot.press("enter")
        await pilot.pause()
        assert host.results == []
        assert picker.is_current
        text = message(picker)
        assert text.startswith("Not switched —")
        assert "profiles.gpt-noauth.auth" in text and "does not allow auth method `none`" in text
        assert picker.query_one("#picker-message").has_class("error")
    await service.aclose()


# --- set as default and saving ------------------------------------------------------------------------------------


async def test_set_as_default_writes_default_profile_and_keeps_the_users_comments(isolated_home, ollama, openai):
    path = write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    before = path.read_text(encoding="utf-8")
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, current="local")
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "gpt")
        await pilot.press("ctrl+d")
        await pilot.pause()
        assert f"gpt is now the default model (default_profile in {path})" in message(picker)
        assert picker.is_current  # it says so and stays open
        assert "default" in highlighted(picker)
        await pilot.press("escape")
        await pilot.pause()
    assert path.read_text(encoding="utf-8") == before.replace('default_profile = "local"', 'default_profile = "gpt"')
    (result,) = host.results
    assert result.action == "cancel" and result.config is not None and result.config.default_profile == "gpt"
    assert service.config.default_profile == "gpt"
    await service.aclose()


async def test_set_as_default_on_a_discovered_model_first_saves_it_as_a_profile(isolated_home, ollama, openai):
    path = write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    before = path.read_text(encoding="utf-8")
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, current="local")
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "qwen")
        await pilot.press("ctrl+d")
        await pilot.pause()
        nickname = picker.query_one("#picker-nickname", Input)
        assert picker.query_one("#picker-save").display and nickname.has_focus
        assert nickname.value == "qwen3-8b"
        await pilot.press("enter")
        await pilot.pause()
        assert "Saved profile qwen3-8b and made it the default" in message(picker)
        assert not picker.query_one("#picker-save").display
        # The model is now listed as the profile, not as a discovered model.
        texts = rows(picker)
        assert any(t.startswith("qwen3-8b") and "default" in t for t in texts)
        assert not any(t.startswith("qwen3:8b") for t in texts)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(before.split("\n[providers.ollama]")[0].replace('"local"', '"qwen3-8b"'))
    assert "# my picks — keep this comment" in text and "# the small one" in text
    config = load_config(path)
    assert config.default_profile == "qwen3-8b" and config.profiles["qwen3-8b"].model == "qwen3:8b"
    await service.aclose()


async def test_saving_refuses_a_nickname_that_is_taken_and_escape_cancels(isolated_home, ollama, openai):
    path = write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    before = path.read_text(encoding="utf-8")
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "qwen")
        await pilot.press("ctrl+s")
        await pilot.pause()
        picker.query_one("#picker-nickname", Input).value = "gpt"
        await pilot.press("enter")
        await pilot.pause()
        assert "A profile called gpt already exists" in message(picker)
        await pilot.press("escape")
        await pilot.pause()
        assert not picker.query_one("#picker-save").display and picker.is_current
        assert picker.query_one("#picker-filter", Input).has_focus
    assert host.results == []
    assert path.read_text(encoding="utf-8") == before
    await service.aclose()


# --- recents and favourites ----------------------------------------------------------------------------------------


async def test_recents_are_listed_first_newest_first_and_a_switch_is_recorded(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    recents.record_use(service.paths.recents_file, "local")
    recents.record_use(service.paths.recents_file, "ollama/qwen3:8b")
    recents.record_use(service.paths.recents_file, "gpt")
    recents.record_use(service.paths.recents_file, "gone-profile")  # no longer exists: not shown
    picker = ModelPicker(service)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        texts = rows(picker)
        assert texts[0] == "Recent"
        assert [t.split()[0] for t in texts[1:4]] == ["gpt", "ollama/qwen3:8b", "local"]
        assert not any("gone-profile" in t for t in texts)
        await highlight_row(pilot, picker, "local")
        await pilot.press("enter")
        await pilot.pause()
    assert host.results[0].nickname == "local"
    assert recents.load_recents(service.paths.recents_file).recent[:3] == ("local", "gone-profile", "gpt")
    await service.aclose()


async def test_a_key_toggles_a_favourite_which_is_listed_at_the_top(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    async with PickerHost(picker).run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "gtmini")
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert "openai/gpt-test-mini added to favourites" in message(picker)
        await pilot.press("ctrl+a", "ctrl+k")
        await pilot.pause()
        texts = rows(picker)
        assert texts[0] == "★ Favourites" and texts[1].startswith("★ openai/gpt-test-mini")
        assert recents.load_recents(service.paths.recents_file).favourites == ("openai/gpt-test-mini",)
        await highlight_row(pilot, picker, "openai/gpt-test-mini")
        await pilot.press("ctrl+f")
        await pilot.pause()
        assert "Favourites" not in rows(picker)[0]
        assert recents.load_recents(service.paths.recents_file).favourites == ()
    await service.aclose()


async def test_a_corrupt_recents_file_does_not_stop_the_picker(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    service.paths.recents_file.parent.mkdir(parents=True, exist_ok=True)
    service.paths.recents_file.write_bytes(b"recent = [\x00\xff not toml")
    picker = ModelPicker(service)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        assert rows(picker)[0] != "Recent"
        await type_text(pilot, "gpt")
        await pilot.press("enter")
        await pilot.pause()
    assert host.results[0].nickname == "gpt"
    assert recents.load_recents(service.paths.recents_file).recent == ("gpt",)  # replaced by a good file
    await service.aclose()


def test_recents_are_capped_deduplicated_and_tolerant(tmp_path):
    path = tmp_path / "state" / "recents.toml"
    assert recents.load_recents(path) == recents.Recents()
    for name in ["a", "b", "a", *[f"m{i}" for i in range(12)]]:
        recents.record_use(path, name)
    state = recents.load_recents(path)
    assert state.recent[0] == "m11" and len(state.recent) == recents.MAX_RECENTS and len(set(state.recent)) == len(state.recent)
    path.write_text('recent = "not a list"\nfavourites = ["x", 3, "x", ""]\n', encoding="utf-8")
    assert recents.load_recents(path) == recents.Recents(recent=(), favourites=("x",))


# --- first run ---------------------------------------------------------------------------------------------------------


async def test_first_run_saves_the_first_choice_as_the_default_and_says_so(isolated_home, ollama, openai):
    path = write_config(isolated_home, standard_config(ollama.base_url, openai.base_url, default=None))
    before = path.read_text(encoding="utf-8")
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, first_run=True)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        assert "your first choice becomes the default" in str(picker.query_one("#picker-title").render())
        await type_text(pilot, "local")
        await pilot.press("enter")
        await pilot.pause()
    (result,) = host.results
    assert result.action == "switch" and result.nickname == "local" and result.saved_default
    assert f"local is now the default model (default_profile in {path})" in result.message
    assert result.config.default_profile == "local" and result.chain.profile.nickname == "local"
    text = path.read_text(encoding="utf-8")
    assert text.replace('default_profile = "local"\n', "") == before
    await service.aclose()


async def test_first_run_with_a_discovered_model_saves_a_profile_as_the_default(isolated_home, ollama, openai):
    path = write_config(isolated_home, standard_config(ollama.base_url, openai.base_url, default=None))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, first_run=True)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "qwen")
        await pilot.press("enter")
        await pilot.pause()
        assert "Save ollama/qwen3:8b as your default profile" in str(picker.query_one("#picker-save-label").render())
        await pilot.press("enter")
        await pilot.pause()
    (result,) = host.results
    assert (result.action, result.nickname, result.is_session_profile, result.saved_default) == ("switch", "qwen3-8b", False, True)
    assert "made it the default model" in result.message
    config = load_config(path)
    assert config.default_profile == "qwen3-8b" and config.profiles["qwen3-8b"].provider == "ollama"
    await service.aclose()


async def test_first_run_with_a_config_file_that_does_not_exist_yet(isolated_home, ollama):
    # No config.toml at all: the only way in is a discovered model, saved as the first profile.
    service = make_service()
    service.config = replace(service.config, providers={**service.config.providers,
                             "ollama": dataclasses.replace(service.config.providers["ollama"], base_url=ollama.base_url)})
    picker = ModelPicker(service, first_run=True)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "llama")
        await pilot.press("enter")
        await pilot.pause()
        assert picker.query_one("#picker-nickname", Input).value == "llama3.2"
        await pilot.press("enter")
        await pilot.pause()
    (result,) = host.results
    assert result.nickname == "llama3.2" and result.saved_default
    config = load_config(isolated_home / "config.toml")
    assert config.default_profile == "llama3.2" and config.profiles["llama3.2"].model == "llama3.2:latest"
    await service.aclose()


def test_suggested_nicknames_are_bare_keys_and_unused():
    assert suggest_nickname("llama3.2:latest", {}) == "llama3.2"
    assert suggest_nickname("qwen3:8b", {}) == "qwen3-8b"
    assert suggest_nickname("meta-llama/Llama-3.1-8B-Instruct", {}) == "Llama-3.1-8B-Instruct"
    assert suggest_nickname("gpt-4o", {"gpt-4o": 1, "gpt-4o-2": 1}) == "gpt-4o-3"


async def test_a_long_model_list_shows_the_first_few_and_typing_finds_the_rest(isolated_home, ollama):
    with FakeOpenAI(api_key=OPENAI_KEY, models=[f"vendor/model-{i:02d}" for i in range(40)]) as many:
        write_config(isolated_home, standard_config(ollama.base_url, many.base_url))
        service = make_service(OPENAI_API_KEY=OPENAI_KEY)
        picker = ModelPicker(service)
        async with PickerHost(picker).run_test(size=(160, 40)) as pilot:
            await settle(pilot, picker)
            texts = rows(picker)
            assert sum(t.startswith("vendor/model-") for t in texts) == 15
            assert "… and 25 more models: type to filter" in texts
            await type_text(pilot, "model-37")
            assert highlighted(picker).startswith("vendor/model-37")
        await service.aclose()


async def test_connect_on_a_stopped_local_server_says_how_to_start_it(isolated_home, openai):
    down = f"http://127.0.0.1:{closed_port()}"
    write_config(isolated_home, standard_config(down, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "local")
        await pilot.press("ctrl+l")
        await pilot.pause()
    (result,) = host.results
    assert result.action == "connect" and result.provider == "ollama"
    assert f"Ollama not running at {down.removeprefix('http://')}" in result.message and "/login" not in result.message
    await service.aclose()


async def test_first_run_still_switches_when_the_default_cannot_be_written_and_says_why(isolated_home, ollama, openai, monkeypatch):
    import tui_agent.config.edit as edit
    from tui_agent.errors import ConfigError

    path = write_config(isolated_home, standard_config(ollama.base_url, openai.base_url, default=None))
    before = path.read_text(encoding="utf-8")

    def refuse(path, nickname):
        raise ConfigError(f"{path}: cannot set default_profile to `{nickname}`: cannot write the file (Read-only file system)")

    monkeypatch.setattr(edit, "set_default_profile", refuse)
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, first_run=True)
    host = PickerHost(picker)
    async with host.run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        await type_text(pilot, "gpt")
        await pilot.press("enter")
        await pilot.pause()
    (result,) = host.results
    assert result.action == "switch" and result.nickname == "gpt" and not result.saved_default
    assert "Could not save gpt as the default" in result.message and "Read-only file system" in result.message
    assert path.read_text(encoding="utf-8") == before
    await service.aclose()


async def test_the_picker_can_open_filtered_to_a_provider(isolated_home, ollama, openai):
    write_config(isolated_home, standard_config(ollama.base_url, openai.base_url))
    service = make_service(OPENAI_API_KEY=OPENAI_KEY)
    picker = ModelPicker(service, query="ollama")
    async with PickerHost(picker).run_test(size=(160, 40)) as pilot:
        await settle(pilot, picker)
        texts = rows(picker)
        assert texts[0].startswith("✓ Ollama")
        assert sorted(t.split()[0] for t in texts[1:]) == ["local", "qwen3:8b"]  # best match first
        assert picker.query_one("#picker-filter", Input).value == "ollama"
    await service.aclose()
