"""The live auth side panel, driven through a real AgentService: env keys, a loopback server that goes down and
comes back, and the service's own publish path for states that need stored tokens or errors."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Region
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from tests.fakes import FakeOllama
from tui_agent.auth.resolve import Chain, session_profile
from tui_agent.core.credentials import STATE_SYMBOL, CredentialState, CredentialStatus
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.core.chat import ChatMessage
from tui_agent.core.events import TextDelta, Usage
from tui_agent.service.agent import AgentService
from tui_agent.ui.widgets.status_panel import StatusPanel, chain_text, format_age, format_countdown
from tui_agent.ui.widgets.status_summary import StatusSummary, summary_text

FROZEN = datetime(2026, 11, 27, 20, 0, 0, tzinfo=timezone.utc)
OPENAI_KEY = "sk-test-0123456789abcdefWXYZ"


# --- helpers shared with tests/snapshots/test_status_panel_snapshots.py ----------------------------------


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime = FROZEN) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_service(home: Path, toml: str = "", env: dict[str, str] | None = None) -> AgentService:
    """A real AgentService over a config.toml written to the test's TUI_AGENT_HOME."""
    (home / "config.toml").write_text(toml)
    # PATH and HOME inside the test home: no real Claude Code CLI is ever found or run.
    base_env = {"TUI_AGENT_HOME": str(home), "TUI_AGENT_KEYRING": "file", "PATH": str(home / "no-bin"), "HOME": str(home)}
    base_env.update(env or {})
    paths = Paths.resolve(None, base_env)
    return AgentService(load_config(paths.config_file), paths, env=base_env)


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_servers_at(ollama: str | None = None, lmstudio: str | None = None) -> str:
    """Config lines that point the local providers at loopback ports (closed ones unless given)."""
    ollama = ollama or f"http://127.0.0.1:{closed_port()}"
    lmstudio = lmstudio or f"http://127.0.0.1:{closed_port()}/v1"
    return f'[providers.ollama]\nbase_url = "{ollama}"\n[providers.lmstudio]\nbase_url = "{lmstudio}"\n'


class PanelApp(App):
    """A small app that mounts only the panel."""

    def __init__(self, service: AgentService, **panel_options) -> None:
        super().__init__()
        self.service = service
        self.panel_options = panel_options

    def compose(self) -> ComposeResult:
        yield StatusPanel(self.service, **self.panel_options)


# The integration the chat screen is asked to copy (see the report): breakpoint classes, the summary in the
# header, the panel beside the conversation, and one toggle action for the key, the summary click and /status.
CHAT_LIKE_CSS = """
#header { height: 1; background: $primary-muted; }
#header-title { width: 1fr; }
#body { height: 1fr; }
#conversation { width: 1fr; padding: 0 1; }
ChatLikeScreen StatusSummary { display: none; }
ChatLikeScreen.-narrow StatusSummary { display: block; }
ChatLikeScreen.-narrow StatusPanel { display: none; }
ChatLikeScreen.-status-closed StatusPanel { display: none; }
ChatLikeScreen.-status-open StatusPanel { display: block; }
ChatLikeScreen.-narrow.-status-open StatusPanel { width: 1fr; }
ChatLikeScreen.-narrow.-status-open #conversation { display: none; }
"""


class ChatLikeScreen(Screen):
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    BINDINGS = [Binding("f2", "toggle_status", "Status")]

    def __init__(self, service: AgentService, **panel_options) -> None:
        super().__init__()
        self.service = service
        self.panel_options = panel_options

    def compose(self) -> ComposeResult:
        with Horizontal(id="header"):
            yield Static("gpt · openai · gpt-4o", id="header-title")
            yield StatusSummary(self.service.config.providers, lambda: self.service)
        with Horizontal(id="body"):
            with Vertical(id="conversation"):
                yield Static("The conversation goes here.")
            yield StatusPanel(self.service, **self.panel_options)

    def action_toggle_status(self) -> None:
        shown = self.query_one(StatusPanel).display
        self.set_class(shown, "-status-closed")
        self.set_class(not shown, "-status-open")

    def on_status_summary_clicked(self, _message: StatusSummary.Clicked) -> None:
        self.action_toggle_status()


class ChatLikeApp(App):
    CSS = CHAT_LIKE_CSS

    def __init__(self, service: AgentService, **panel_options) -> None:
        super().__init__()
        self.service = service
        self.panel_options = panel_options

    def on_mount(self) -> None:
        self.push_screen(ChatLikeScreen(self.service, **self.panel_options))


async def wait_until(pilot, predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Wait for the app to reach a state, without asserting anything about how long it took."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await pilot.pause(0.02)


def status(provider: str, state: CredentialState, **fields) -> CredentialStatus:
    fields.setdefault("auth_method", "api-key")
    fields.setdefault("checked_at", FROZEN)
    return CredentialStatus(provider=provider, state=state, **fields)


class RestartableOllama(FakeOllama):
    """A loopback Ollama that comes back on the same port after stop(): a server that goes down and comes back."""

    async def _open(self) -> None:
        self._release = asyncio.Event()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]


# --- pure formatting --------------------------------------------------------------------------------------


def test_countdown_reads_minutes_and_seconds_then_turns_into_expired():
    assert format_countdown(FROZEN + timedelta(minutes=8, seconds=12), FROZEN) == "expires in 8m 12s"
    assert format_countdown(FROZEN + timedelta(hours=2, minutes=5), FROZEN) == "expires in 2h 05m"
    assert format_countdown(FROZEN + timedelta(days=3, hours=4), FROZEN) == "expires in 3d 4h"
    assert format_countdown(FROZEN - timedelta(seconds=3), FROZEN) == "expired 3s ago"


def test_age_of_last_check_is_relative():
    assert format_age(FROZEN, FROZEN + timedelta(seconds=2)) == "just now"
    assert format_age(FROZEN, FROZEN + timedelta(seconds=12)) == "12s ago"
    assert format_age(FROZEN, FROZEN + timedelta(minutes=3, seconds=5)) == "3m ago"


def test_summary_counts_each_state_with_its_symbol_in_enum_order():
    states = [CredentialState.MISSING, CredentialState.READY, CredentialState.UNREACHABLE, CredentialState.READY,
              CredentialState.EXPIRING, CredentialState.MISSING, CredentialState.READY]
    assert summary_text(states) == "auth: 3✓ 1◔ 2○ 1⊘"
    assert summary_text([]) == "auth: no providers"


# --- states through the service ---------------------------------------------------------------------------


async def test_environment_key_makes_the_row_ready_with_a_masked_identity(isolated_home):
    service = make_service(isolated_home, local_servers_at(), env={"OPENAI_API_KEY": OPENAI_KEY})
    app = PanelApp(service, clock=FakeClock(), slow_probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        await wait_until(pilot, lambda: panel.statuses["openai"].state == CredentialState.READY, "openai is ready")
        row = panel.row("openai")
        assert row.texts["state"] == "✓ ready"
        assert row.has_class("-state-ready")
        assert row.texts["auth"] == "api-key · env:OPENAI_API_KEY · sk-tes…WXYZ"
        assert row.texts["times"] == "checked just now"
        assert all(OPENAI_KEY not in text for r in (panel.row(p) for p in panel.statuses) for text in r.texts.values())


async def test_provider_without_a_key_is_missing(isolated_home):
    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock())
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        await wait_until(pilot, lambda: panel.statuses["anthropic"].state == CredentialState.MISSING, "anthropic is missing")
        assert panel.row("anthropic").texts["state"] == "○ missing"
        assert panel.row("anthropic").has_class("-state-missing")
        assert "no API key" in panel.statuses["anthropic"].detail


async def test_local_server_that_goes_down_and_comes_back(isolated_home):
    server = RestartableOllama().start()
    try:
        service = make_service(isolated_home, local_servers_at(ollama=server.base_url))
        clock = FakeClock(datetime.now(timezone.utc))  # the service stamps checks with the real time
        app = PanelApp(service, clock=clock, probe_every=0.05, slow_probe_every=None)
        async with app.run_test(size=(60, 60)) as pilot:
            panel = app.query_one(StatusPanel)
            row = panel.row("ollama")
            await wait_until(pilot, lambda: panel.statuses["ollama"].state == CredentialState.READY, "ollama is up")
            assert row.texts["times"].startswith("server up")
            server.stop()
            await wait_until(pilot, lambda: panel.statuses["ollama"].state == CredentialState.UNREACHABLE, "ollama is down")
            assert row.texts["state"] == "⊘ unreachable"
            assert row.texts["times"].startswith("server down")
            assert row.has_class("-state-unreachable") and not row.has_class("-state-ready")
            server.start()
            await wait_until(pilot, lambda: panel.statuses["ollama"].state == CredentialState.READY, "ollama is back")
            assert row.texts["state"] == "✓ ready"
            # The outage stays visible as the row's last error after the server is back.
            clock.advance(600)
            panel.select("ollama")
            detail = str(panel.detail_text("ollama"))
            assert re.search(r"Last error: \(\dm ago\) Ollama not running at 127\.0\.0\.1:\d+ — start it", detail), detail
            # Probes are TCP connects only: no HTTP request ever reached the server.
            assert server.requests == []
    finally:
        server.stop()


async def test_local_server_not_probed_is_unknown(isolated_home):
    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        assert panel.statuses["ollama"].detail == "not checked yet"
        worker = panel.recheck(["ollama"], probe=False)
        await worker.wait()
        await wait_until(pilot, lambda: "not probed" in panel.statuses["ollama"].detail, "ollama reported unprobed")
        assert panel.row("ollama").texts["state"] == "? unknown"
        assert panel.row("ollama").texts["times"].startswith("server not probed")


@pytest.mark.parametrize("state", list(CredentialState))
async def test_every_state_published_by_the_service_reaches_its_row(isolated_home, state):
    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        # The same call a token refresh, login or logout ends in.
        service._publish(status("openrouter", state, source="keyring", identity="sk-or-…9f3c", detail="why"))
        await wait_until(pilot, lambda: panel.statuses["openrouter"].source == "keyring", f"openrouter is {state}")
        row = panel.row("openrouter")
        assert row.texts["state"] == f"{STATE_SYMBOL[state]} {state.value}"
        assert [c for c in row.classes if c.startswith("-state-")] == [f"-state-{state.value}"]
        assert row.texts["auth"] == "api-key · keyring · sk-or-…9f3c"


async def test_countdown_follows_the_injected_clock_and_ticks_only_while_something_expires(isolated_home):
    service = make_service(isolated_home, local_servers_at())
    clock = FakeClock()
    app = PanelApp(service, clock=clock, probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        assert not panel.ticking
        service._publish(status("azure-openai", CredentialState.EXPIRING, auth_method="oauth-device", source="keyring",
                                identity="ada@example.com", expires_at=FROZEN + timedelta(minutes=10)))
        await wait_until(pilot, lambda: panel.statuses["azure-openai"].state == CredentialState.EXPIRING, "expiring shown")
        row = panel.row("azure-openai")
        assert panel.ticking
        assert row.texts["times"] == "expires in 10m 00s · checked just now"
        clock.advance(75)
        panel.refresh_times()
        assert row.texts["times"] == "expires in 8m 45s · checked 1m ago"
        # The one-second timer does the same on its own.
        clock.advance(5)
        await wait_until(pilot, lambda: row.texts["times"].startswith("expires in 8m 40s"), "the timer redrew the countdown")
        service._publish(status("azure-openai", CredentialState.READY, auth_method="oauth-device", source="keyring"))
        await wait_until(pilot, lambda: not panel.ticking, "the countdown timer stopped")
        assert "expires" not in row.texts["times"]


async def test_the_panel_is_one_widget_per_provider_plus_three(isolated_home):
    """Every layout re-arranges every shown widget of the screen: a row is one widget that draws its own parts
    (it was a ListItem, a Horizontal and five Statics: 53 widgets in the panel for the 7 default providers)."""
    service = make_service(isolated_home)
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(48, 60)) as pilot:
        await pilot.pause()
        panel = app.query_one(StatusPanel)
        rows = [panel.row(pid) for pid in panel.statuses]
        assert len(rows) == 7
        assert [list(row.children) for row in rows] == [[]] * len(rows)
        # The list, the detail and the usage meter besides the rows (the panel draws its title itself).
        assert len(list(panel.walk_children())) <= len(rows) + 3


def _lines(row) -> list[str]:
    """The row's lines as the screen shows them (its padding included), trailing blanks cut."""
    return [strip.text.rstrip() for strip in row.render_lines(Region(0, 0, *row.outer_size))]


async def test_a_row_draws_name_and_state_on_one_line_wraps_its_auth_and_has_a_failure_line_only_with_a_failure(
    isolated_home,
):
    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(48, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        row = panel.row("openrouter")
        service._publish(status("openrouter", CredentialState.READY, source="keyring",
                                identity="someone-with-a-long-name@a-long-domain.example.com"))
        await wait_until(pilot, lambda: row.outer_size.height == 5, "the row laid out with the wrapped auth")
        # 45 columns inside the row's padding: the state flush right; the auth wrapped at a word, and a word
        # longer than the line folded, as the auth's own Static wrapped it.
        assert _lines(row) == [
            " " + "OpenRouter".ljust(45 - len("✓ ready")) + "✓ ready",
            " api-key · keyring ·",
            " someone-with-a-long-name@a-long-domain.exampl",
            " e.com",
            " checked just now",
        ]
        service._publish(row.status.with_(last_failure="last request failed: timeout"))
        await wait_until(pilot, lambda: row.outer_size.height == 6, "the failure line laid out")
        assert _lines(row)[-2:] == [" checked just now", " last request failed: timeout"]
        service._publish(row.status.with_(last_failure=""))
        await wait_until(pilot, lambda: row.outer_size.height == 5, "the failure line gone")
        assert _lines(row)[-1] == " checked just now"


def record_layouts(widget) -> list[bool]:
    """From now on, whether each refresh of `widget` asks for a layout, in order (`del widget.refresh` ends it)."""
    layouts: list[bool] = []
    real_refresh = widget.refresh

    def spy(*regions, layout: bool = False, **options):
        layouts.append(layout)
        return real_refresh(*regions, layout=layout, **options)

    widget.refresh = spy
    return layouts

async def test_a_countdown_tick_repaints_its_row_without_laying_out_the_screen(isolated_home):
    """A layout re-arranges every widget of the screen; the per-second countdown changes a row's text, seldom
    its number of lines."""
    service = make_service(isolated_home, local_servers_at())
    clock = FakeClock()
    app = PanelApp(service, clock=clock, probe_every=None)
    async with app.run_test(size=(48, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        row = panel.row("azure-openai")
        service._publish(status("azure-openai", CredentialState.EXPIRING, auth_method="oauth-device", source="keyring",
                                expires_at=FROZEN + timedelta(minutes=10)))
        await wait_until(pilot, lambda: row.texts["state"] == "◔ expiring" and row.outer_size.height == 3, "expiring shown")
        refreshes = record_layouts(row)
        clock.advance(1)
        panel.refresh_times()
        assert row.texts["times"] == "expires in 9m 59s · checked just now"
        assert refreshes == [False]
        await pilot.pause()
        assert "expires in 9m 59s" in "\n".join(_lines(row))  # repainted with the new text
        refreshes.clear()
        service._publish(row.status.with_(last_failure="last request failed: timeout"))
        await wait_until(pilot, lambda: row.texts["failure"] != "", "the failure shown")
        assert True in refreshes  # one more line: laid out
        del row.refresh  # the spy: the class's own refresh again


async def test_a_passed_expiry_asks_the_service_again_without_probing(isolated_home):
    service = make_service(isolated_home, local_servers_at(), env={"OPENAI_API_KEY": OPENAI_KEY})
    clock = FakeClock()
    app = PanelApp(service, clock=clock, probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        service._publish(status("openai", CredentialState.EXPIRING, expires_at=FROZEN + timedelta(seconds=5)))
        await wait_until(pilot, lambda: panel.statuses["openai"].state == CredentialState.EXPIRING, "expiring shown")
        clock.advance(10)
        panel.refresh_times()
        assert panel.row("openai").texts["times"].startswith("expired 5s ago")
        # The service's answer (the env key is valid) replaces the stale expiry.
        await wait_until(pilot, lambda: panel.statuses["openai"].state == CredentialState.READY, "openai re-checked")
        assert panel.statuses["openai"].expires_at is None


async def test_claude_cli_is_probed_rarely_and_the_others_often(isolated_home):
    service = make_service(isolated_home, local_servers_at())
    calls: dict[str, int] = {}
    real = service.credential_status

    async def counting(provider_id, method=None, *, probe=True):
        calls[provider_id] = calls.get(provider_id, 0) + 1
        return await real(provider_id, method, probe=probe)

    service.credential_status = counting
    app = PanelApp(service, clock=FakeClock(), probe_every=0.05, slow_probe_every=3600)
    async with app.run_test(size=(60, 60)) as pilot:
        await wait_until(pilot, lambda: calls.get("anthropic", 0) >= 4, "several fast probe rounds")
        assert calls["claude-code"] == 1  # only the check on mount


# --- selection: chain and last error ----------------------------------------------------------------------

GPT_PROFILE = '[profiles.gpt]\nprovider = "openai"\nmodel = "gpt-4o"\n'


async def test_selecting_a_row_shows_the_same_chain_as_explain(isolated_home):
    service = make_service(isolated_home, GPT_PROFILE + local_servers_at(), env={"OPENAI_API_KEY": OPENAI_KEY})
    app = PanelApp(service, clock=FakeClock(), slow_probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        await wait_until(pilot, lambda: panel.statuses["openai"].state == CredentialState.READY, "openai is ready")
        await pilot.click(panel.row("openai"))
        await wait_until(pilot, lambda: panel.selected == "openai", "openai selected")
        steps, _status = await service.explain("gpt")
        detail = str(panel.detail_text("openai"))
        assert str(chain_text(steps)) in detail
        assert "1. profile gpt\n   config.toml: profiles.gpt" in detail
        assert "5. adapter openai-chat" in detail
        assert "Last error: none this session" in detail
        shown = str(panel.query_one("#status-detail", Static).content)
        assert shown == detail


async def test_enter_on_a_provider_without_a_profile_shows_provider_method_and_credential(isolated_home):
    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        service._publish(status("anthropic", CredentialState.ERROR, source="file", detail="the stored key is bound to another host"))
        await wait_until(pilot, lambda: panel.statuses["anthropic"].state == CredentialState.ERROR, "anthropic error shown")
        panel.focus_rows()
        await pilot.press("home", "enter")  # anthropic is the catalog's first provider
        await wait_until(pilot, lambda: panel.selected == "anthropic", "anthropic selected")
        detail = str(panel.detail_text("anthropic"))
        assert detail.startswith("Anthropic API  (no profile uses it)\n1. provider anthropic\n   catalog\n2. method api-key")
        assert "3. credential file: the stored key is bound to another host\n   state error" in detail
        assert "Last error: (just now) the stored key is bound to another host" in detail


# --- models on demand -------------------------------------------------------------------------------------


async def test_models_are_listed_only_on_demand(isolated_home):
    with FakeOllama(models=("llama3.2:latest", "qwen3:8b", "phi4:latest")) as server:
        service = make_service(isolated_home, local_servers_at(ollama=server.base_url))
        # Frequent probes: on a loaded machine one 300 ms connect may miss, the next one will not.
        app = PanelApp(service, clock=FakeClock(), probe_every=0.2, slow_probe_every=None)
        async with app.run_test(size=(60, 60)) as pilot:
            panel = app.query_one(StatusPanel)
            await wait_until(pilot, lambda: panel.statuses["ollama"].state == CredentialState.READY, "ollama is up")
            assert [r.path for r in server.requests] == []
            panel.select("ollama")
            panel.focus_rows()
            await pilot.press("m")
            await wait_until(pilot, lambda: panel.row("ollama").model_count == 3, "the models were counted")
            assert "3 models" in panel.row("ollama").texts["times"]
            assert "/api/tags" in [r.path for r in server.requests]
            assert "/api/chat" not in [r.path for r in server.requests]
        await service.aclose()


async def test_models_are_not_listed_while_the_server_is_streaming(isolated_home):
    with FakeOllama() as server:
        server.script(FakeOllama.answer("Hel", "lo", pause_after=1))
        service = make_service(isolated_home, local_servers_at(ollama=server.base_url))
        app = PanelApp(service, clock=FakeClock(), probe_every=None)
        async with app.run_test(size=(60, 60)):
            panel = app.query_one(StatusPanel)
            provider = service.config.providers["ollama"]
            chain = Chain(session_profile(service.config, "ollama", "llama3.2:latest"), provider, "none")
            stream = service.send(chain, [ChatMessage(role="user", content="hi")])
            first = await stream.__anext__()  # the stream is now open and paused on the server
            assert service.is_streaming("ollama")
            panel.select("ollama")
            assert panel.list_models("ollama") is None
            assert "Ollama is answering right now; press m again when it is done." in str(panel.detail_text("ollama"))
            server.release()
            rest = [event async for event in stream]
            assert not service.is_streaming("ollama")
            assert isinstance(first, TextDelta) and rest
            assert [r.path for r in server.requests] == ["/api/chat"]
            await panel.list_models("ollama").wait()
            assert panel.row("ollama").model_count == 2
        await service.aclose()


# --- usage ------------------------------------------------------------------------------------------------


async def test_usage_sums_answers_and_shows_the_share_of_the_context_window(isolated_home):
    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(60, 60)):
        panel = app.query_one(StatusPanel)
        assert "none yet" in str(panel.usage.render())
        panel.record_usage(Usage(input_tokens=100, output_tokens=20), answer_id=1)
        panel.record_usage(Usage(input_tokens=100, output_tokens=50), answer_id=1)  # cumulative: replaces
        panel.record_usage(Usage(input_tokens=300, output_tokens=10, cost_usd=0.5), answer_id=2)
        assert panel.usage.totals.input_tokens == 400 and panel.usage.totals.output_tokens == 60
        text = str(panel.usage.render())
        assert "in 400 · out 60" in text
        # One answer had no price: the total is not shown as if it were the whole cost.
        assert "cost unknown ($0.5000 of it known)" in text
        assert "Context" not in text
        panel.set_context_window(1000)
        assert "Context 310 / 1k 31%" in str(panel.usage.render())
        assert not panel.usage.has_class("-context-high")
        panel.record_usage(Usage(input_tokens=950, output_tokens=10), answer_id=3)
        assert "Context 960 / 1k 96%" in str(panel.usage.render())
        assert panel.usage.has_class("-context-high")
        panel.set_context_used(400)  # the session's own count of the conversation replaces the last answer's
        assert "Context 400 / 1k 40%" in str(panel.usage.render())
        panel.reset_usage()
        assert "none yet" in str(panel.usage.render())


async def test_new_usage_numbers_on_as_many_lines_repaint_the_meter_without_a_layout(isolated_home):
    """Usage arrives while an answer streams; a layout would re-arrange every widget of the screen."""
    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(48, 60)) as pilot:
        meter = app.query_one(StatusPanel).usage
        meter.record_usage(Usage(input_tokens=100, output_tokens=20), answer_id=1)
        await wait_until(pilot, lambda: meter.size.height == 3, "the meter laid out with the tokens and the cost")
        layouts = record_layouts(meter)
        meter.record_usage(Usage(input_tokens=100, output_tokens=900), answer_id=1)
        assert layouts == [False]
        await pilot.pause()
        assert "out 900" in "\n".join(strip.text for strip in meter.render_lines(Region(0, 0, *meter.outer_size)))
        meter.set_context_window(8_000)  # one more line: the context
        assert layouts[-1] is True
        await wait_until(pilot, lambda: meter.size.height == 4, "the meter laid out with the context line")
        del meter.refresh  # the spy: the class's own refresh again


def test_the_cost_is_shown_only_when_every_answer_is_priced():
    from tui_agent.ui.widgets.usage import UsageBook, header_summary

    book = UsageBook()
    book.record(Usage(input_tokens=1000, output_tokens=100), answer_id=1)
    assert book.totals().cost_text() == "cost unknown"
    priced = UsageBook()
    priced.record(Usage(input_tokens=1000, output_tokens=100, cost_usd=0.0045), answer_id=1)
    priced.record(Usage(input_tokens=2000, output_tokens=100, cost_usd=0.0075), answer_id=2)
    totals = priced.totals()
    assert totals.cost_text() == "$0.0120"
    assert header_summary(totals, 200_000) == "ctx 2.1k / 200k 1% · $0.0120"
    assert header_summary(book.totals(), None) == "cost unknown"


# --- life cycle and narrow layout -------------------------------------------------------------------------


async def test_panel_follows_the_app_level_signal_and_leaves_it_when_removed(isolated_home):
    from tui_agent.ui.status_signal import status_signal

    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        assert len(service._listeners) == 1  # the app's one relay, however many widgets follow the signal
        panel = app.query_one(StatusPanel)
        signal = status_signal(app, service)
        assert panel in signal._subscriptions
        await panel.remove()
        await pilot.pause()
        service._publish(status("openai", CredentialState.READY))  # nobody left to tell: no error
        await pilot.pause()
        assert panel not in signal._subscriptions
        assert len(service._listeners) == 1


async def test_narrow_terminal_shows_the_summary_which_expands_the_panel(isolated_home):
    service = make_service(isolated_home, local_servers_at())
    app = ChatLikeApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        panel, summary = screen.query_one(StatusPanel), screen.query_one(StatusSummary)
        assert not panel.display and summary.display
        for pid, state in (("openai", CredentialState.READY), ("anthropic", CredentialState.READY),
                           ("azure-openai", CredentialState.EXPIRING), ("ollama", CredentialState.UNREACHABLE)):
            service._publish(status(pid, state))
        await wait_until(pilot, lambda: summary.text == "auth: 2✓ 1◔ 1⊘ 3?", "the summary counted the states")
        assert str(summary.content) == summary.text
        await pilot.click(StatusSummary)
        await pilot.pause()
        assert panel.display
        assert screen.query_one("#conversation").display is False
        await pilot.press("f2")
        await pilot.pause()
        assert not panel.display
        await pilot.resize_terminal(130, 30)
        await pilot.pause()
        assert screen.has_class("-wide")
        assert not summary.display
        await pilot.press("f2")
        await pilot.pause()
        assert panel.display and screen.query_one("#conversation").display


async def test_wide_terminal_shows_the_panel_by_default(isolated_home):
    service = make_service(isolated_home, local_servers_at())
    app = ChatLikeApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(130, 30)) as pilot:
        await pilot.pause()
        assert app.screen.query_one(StatusPanel).display
        assert not app.screen.query_one(StatusSummary).display


async def test_a_failed_model_listing_is_shown_as_the_rows_last_error(isolated_home):
    with FakeOllama() as server:
        server.script(FakeOllama.error(500, "model store is corrupt"), path="/api/tags")
        service = make_service(isolated_home, local_servers_at(ollama=server.base_url))
        app = PanelApp(service, clock=FakeClock(), probe_every=None)
        async with app.run_test(size=(60, 60)) as pilot:
            panel = app.query_one(StatusPanel)
            panel.select("ollama")
            await panel.list_models("ollama").wait()
            await pilot.pause()
            detail = str(panel.detail_text("ollama"))
            assert "Last error: (just now) listing models failed: Ollama is overloaded or failing (HTTP 500" in detail
            assert panel.row("ollama").model_count is None
            assert "listing models" not in panel.row("ollama").texts["times"]
        await service.aclose()


async def test_a_new_state_restyles_its_row_once_and_the_row_shows_it(isolated_home, monkeypatch):
    from textual.dom import DOMNode

    service = make_service(isolated_home, local_servers_at())
    app = PanelApp(service, clock=FakeClock(), probe_every=None)
    async with app.run_test(size=(60, 60)) as pilot:
        panel = app.query_one(StatusPanel)
        service._publish(status("openrouter", CredentialState.READY, source="keyring"))
        await wait_until(pilot, lambda: panel.statuses["openrouter"].state == CredentialState.READY, "ready")
        row = panel.row("openrouter")
        ready = row.get_component_rich_style("row-state")
        restyles: list[DOMNode] = []
        update = DOMNode.update_node_styles

        def counting(node: DOMNode, animate: bool = True) -> None:
            if node is row:
                restyles.append(node)
            update(node, animate)

        monkeypatch.setattr(DOMNode, "update_node_styles", counting)
        service._publish(status("openrouter", CredentialState.ERROR, source="keyring", detail="why"))
        await wait_until(pilot, lambda: panel.statuses["openrouter"].state == CredentialState.ERROR, "error")
        assert len(restyles) == 1
        row._rich_style_cache.clear()
        assert row.get_component_rich_style("row-state") != ready  # the error colour, not the ready one
        service._publish(status("openrouter", CredentialState.ERROR, source="keyring", detail="again"))
        await wait_until(pilot, lambda: panel.statuses["openrouter"].detail == "again", "same state again")
        assert len(restyles) == 1  # the same state: no restyle
