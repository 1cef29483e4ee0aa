"""Snapshots of the model picker: grouped, filtered, disabled providers, detail pane, first-run save.

Fixed size, no cursor blink, no animations, scripted provider states and model lists (no ports, clock or host
in the picture). The pictures in assets/model-picker-*.svg are copies of these baselines.
"""

from __future__ import annotations


from textual.app import App
from textual.widgets import Input

from tui_agent.core.credentials import CredentialState, CredentialStatus
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.core.chat import ModelInfo
from tui_agent.service.agent import AgentService
from tui_agent.ui import recents
from tui_agent.ui.screens.model_picker import ModelPicker

SIZE = (120, 34)

CONFIG = """\
default_profile = "claude"

[profiles.claude]
provider = "claude-code"
model = "sonnet"

[profiles.sonnet-api]
provider = "anthropic"
model = "claude-sonnet-4-5"

[profiles.local]
provider = "ollama"
model = "llama3.2:latest"
temperature = 0.2

[profiles.gpt]
provider = "openai"
model = "gpt-4o"
"""

S = CredentialState
STATUSES = {
    "anthropic": (S.READY, "env:ANTHROPIC_API_KEY", "sk-ant…a1B2", "stored in env:ANTHROPIC_API_KEY"),
    "claude-code": (S.READY, "claude-cli", "", "logged in (claude.ai subscription)"),
    "openai": (S.MISSING, "none", "", "no API key — run `tui-agent login openai` or set OPENAI_API_KEY"),
    "openrouter": (S.MISSING, "none", "", "no API key — run `tui-agent login openrouter` or set OPENROUTER_API_KEY"),
    "azure-openai": (S.MISSING, "none", "", "not configured: providers.azure-openai.base_url missing"),
    "ollama": (S.READY, "none", "", "Ollama running at 127.0.0.1:11434"),
    "lmstudio": (S.UNREACHABLE, "none", "", "LM Studio not running at 127.0.0.1:1234 — start it, or set providers.lmstudio.base_url"),
}
MODELS = {
    "anthropic": [
        ModelInfo("anthropic", "claude-sonnet-4-5", context_window=200_000, capabilities=("vision", "tools", "thinking")),
        ModelInfo("anthropic", "claude-opus-4-1", context_window=200_000, capabilities=("vision", "tools", "thinking")),
        ModelInfo("anthropic", "claude-haiku-4-5", context_window=200_000, capabilities=("vision", "tools")),
    ],
    "claude-code": [ModelInfo("claude-code", m) for m in ("sonnet", "opus", "haiku")],
    "ollama": [
        ModelInfo("ollama", "llama3.2:latest", context_window=8192, loaded=True),
        ModelInfo("ollama", "qwen3:8b", loaded=False),
        ModelInfo("ollama", "gemma3:4b", loaded=False),
    ],
}


class ScriptedService(AgentService):
    """The real service with provider states and model lists fixed, so the pictures never change."""

    async def credential_status(self, provider_id, method=None, *, probe=True):
        state, source, identity, detail = STATUSES[provider_id]
        method = method or self.config.providers[provider_id].default_method
        return CredentialStatus(provider_id, method, state, source=source, identity=identity, detail=detail)

    async def discover(self, provider_id, *, refresh=False):
        return MODELS.get(provider_id, [])


class PickerApp(App):
    TITLE = "tui-agent"

    def __init__(self, picker_factory) -> None:
        super().__init__()
        self.picker_factory = picker_factory

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(self.picker_factory())


def make_app(*, first_run: bool = False, config: str = CONFIG, recent: tuple[str, ...] = (), favourites: tuple[str, ...] = ()) -> PickerApp:
    paths = Paths.resolve()
    paths.config_file.write_text(config, encoding="utf-8")
    for name in reversed(recent):
        recents.record_use(paths.recents_file, name)
    for name in favourites:
        recents.toggle_favourite(paths.recents_file, name)
    service = ScriptedService(load_config(paths.config_file), paths, env={"TUI_AGENT_KEYRING": "file"})
    return PickerApp(lambda: ModelPicker(service, current="claude" if not first_run else None, first_run=first_run))


async def ready(pilot) -> None:
    """Wait for the scripted states and lists, and stop every cursor blinking."""
    picker = pilot.app.screen
    for _ in range(2000):
        await pilot.pause(0.01)
        if isinstance(picker, ModelPicker) and not picker.loading:
            break
    for widget in picker.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def test_grouped_with_recents_and_favourites(snap_compare):
    app = make_app(recent=("local", "ollama/qwen3:8b"), favourites=("claude",))
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_filtered(snap_compare):
    app = make_app()
    assert snap_compare(app, terminal_size=SIZE, press=["s", "o", "n"], run_before=ready)


def test_disabled_provider_row_explains_itself(snap_compare):
    app = make_app()
    assert snap_compare(app, terminal_size=SIZE, press=["g", "p", "t", "enter"], run_before=ready)


def test_detail_pane_of_a_discovered_model(snap_compare):
    app = make_app()
    assert snap_compare(app, terminal_size=SIZE, press=["o", "p", "u", "s", "4"], run_before=ready)


def test_first_run_saving_a_discovered_model(snap_compare):
    app = make_app(first_run=True, config=CONFIG.replace('default_profile = "claude"\n', ""))

    async def run_before(pilot):
        await ready(pilot)
        await pilot.press("q", "w", "e", "n", "enter")
        await ready(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
