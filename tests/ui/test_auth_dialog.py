"""Pilot tests of the auth dialog over a real AgentService: states, log in, API key, log out, base URL, test, explain.

Local servers and OpenAI are the loopback fakes; nothing reaches the internet.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App
from textual.widgets import Input, ListView, Static

from tests.fakes.fake_ollama import FakeOllama
from tests.fakes.fake_openai import FakeOpenAI
from tests.ui.support import closed_port, wait_until
from tui_agent.core.credentials import CredentialState, CredentialStatus, StoredCredential
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.service.agent import AgentService
from tui_agent.ui.screens.auth_dialog import AuthDialog, AuthProviderRow, AuthResult
from tui_agent.ui.screens.login import ApiKeyScreen

SIZE = (120, 36)
GOOD_KEY = "sk-test-good-key-0123456789abcdef"


class Host(App):
    def __init__(self, make_screen) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.results: list[AuthResult] = []

    def on_mount(self) -> None:
        self.push_screen(self.make_screen(), self.results.append)


def make_service(home: Path, config: str, env: dict[str, str] | None = None) -> AgentService:
    (home / "config.toml").write_text(config, encoding="utf-8")
    base = {"TUI_AGENT_HOME": str(home), "TUI_AGENT_KEYRING": "file", "HOME": str(home), "TUI_AGENT_CLAUDE_PATH": str(home / "no-claude")}
    paths = Paths.resolve(env=base)
    return AgentService(load_config(paths.config_file), paths, env={**base, **(env or {})})


def local_config(ollama_url: str, openai_url: str | None = None) -> str:
    text = (
        "# my providers — this comment must survive an edit\n"
        f'[providers.ollama]\nbase_url = "{ollama_url}"  # the box under the desk\n\n'
        f'[providers.lmstudio]\nbase_url = "http://127.0.0.1:{closed_port()}/v1"\n\n'
        '[profiles.local]\nprovider = "ollama"\nmodel = "llama3.2"\n'
    )
    if openai_url:
        text += f'\n[providers.openai]\nbase_url = "{openai_url}"\n'
    return text


def rows(screen: AuthDialog) -> dict[str, AuthProviderRow]:
    return {row.provider.id: row for row in screen.query(AuthProviderRow)}


async def loaded(pilot) -> AuthDialog:
    screen = pilot.app.screen
    await wait_until(pilot, lambda: isinstance(screen, AuthDialog) and not screen.checking, "the provider states")
    await pilot.pause()
    return screen


async def highlight(pilot, screen: AuthDialog, provider_id: str) -> None:
    listing = screen.query_one("#auth-list", ListView)
    listing.index = list(screen.service.config.providers).index(provider_id)
    await pilot.pause()


async def test_every_provider_is_listed_with_its_state_source_and_masked_identity(home):
    with FakeOllama() as ollama:
        service = make_service(home, local_config(ollama.root_url), env={"OPENAI_API_KEY": GOOD_KEY})
        app = Host(lambda: AuthDialog(service))
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            shown = {pid: [str(label.render()) for label in row.query("Label")] for pid, row in rows(screen).items()}
            classes = {pid: row.has_class(f"-state-{row.status.state.value}") for pid, row in rows(screen).items()}
        await service.aclose()
    assert list(shown) == ["anthropic", "claude-code", "openai", "openrouter", "azure-openai", "ollama", "lmstudio"]
    assert shown["ollama"] == ["✓ ready", "Ollama", "none", "-", "-", "-"]  # method none; source "-"
    assert shown["lmstudio"][:2] == ["⊘ unreachable", "LM Studio"]
    assert shown["openai"] == ["✓ ready", "OpenAI", "api-key", "env:OPENAI_API_KEY", "sk-tes…cdef", "-"]
    assert shown["anthropic"][0] == "○ missing"
    assert shown["claude-code"][:3] == ["! error", "Claude Code (subscription)", "claude-cli"]
    assert all(classes.values())
    assert GOOD_KEY not in str(shown)


async def test_states_follow_the_service_live(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"))
    app = Host(lambda: AuthDialog(service))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert rows(screen)["anthropic"].status.state == CredentialState.MISSING
        service._publish(CredentialStatus("anthropic", "api-key", CredentialState.EXPIRING, source="file", identity="sk-ant…a1B2"))
        await wait_until(pilot, lambda: rows(screen)["anthropic"].status.state == CredentialState.EXPIRING, "the live update")
        label = str(rows(screen)["anthropic"].query(".col-state").first().render())
        expiring = rows(screen)["anthropic"].has_class("-state-expiring") and not rows(screen)["anthropic"].has_class("-state-missing")
    await service.aclose()
    assert label == "◔ expiring" and expiring


async def test_setting_a_refused_key_saves_nothing_and_says_so(home):
    with FakeOpenAI(api_key=GOOD_KEY) as fake:
        service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}", fake.base_url))
        app = Host(lambda: AuthDialog(service, provider="openai"))
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            await pilot.press("k")
            await wait_until(pilot, lambda: isinstance(app.screen, ApiKeyScreen), "the key screen")
            key_screen = app.screen
            key_screen.query_one("#login-key", Input).value = "sk-test-wrong-key-000000000000000"
            await pilot.press("enter")
            await wait_until(pilot, lambda: "refused" in key_screen.message, "the refusal")
            message = key_screen.message
        await service.aclose()
    assert message.startswith("OpenAI refused the key (") and message.endswith("it was not saved.")
    assert await service.store.get("openai") is None


async def test_a_refused_key_is_never_offered_save_anyway(home):
    with FakeOpenAI(api_key=GOOD_KEY) as fake:
        service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}", fake.base_url))
        app = Host(lambda: ApiKeyScreen(service, service.config.providers["openai"]))
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, ApiKeyScreen), "the key screen")
            key_screen = app.screen
            key_screen.query_one("#login-key", Input).value = "sk-test-wrong-key-000000000000000"
            await pilot.press("enter")
            await wait_until(pilot, lambda: "refused" in key_screen.message, "the refusal")
            offered = key_screen.check_action("save_anyway", ())
            await pilot.press("ctrl+s")
            await pilot.pause()
            message = key_screen.message
        await service.aclose()
    assert not offered and "ctrl+s" not in message
    assert await service.store.get("openai") is None


async def test_a_key_that_cannot_be_checked_can_be_saved_anyway_as_unknown(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}", f"http://127.0.0.1:{closed_port()}/v1"))
    app = Host(lambda: ApiKeyScreen(service, service.config.providers["openai"]))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ApiKeyScreen), "the key screen")
        key_screen = app.screen
        key_screen.query_one("#login-key", Input).value = GOOD_KEY
        await pilot.press("enter")
        await wait_until(pilot, lambda: "could not be checked" in key_screen.message, "the failed check")
        message = key_screen.message
        assert "connection refused" in message and "ctrl+s saves it anyway" in message
        assert await service.store.get("openai") is None  # nothing saved until asked
        assert key_screen.check_action("save_anyway", ())
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.results, "the screen closing")
    result = app.results[0]
    assert result.ok and "without a check" in result.message and GOOD_KEY not in result.message
    assert (await service.store.get("openai")).secret == GOOD_KEY
    assert result.status is not None and (result.status.state.value, result.status.detail) == ("unknown", "saved without a check")
    await service.aclose()


async def test_an_accepted_key_is_stored_and_the_model_picker_is_offered(home, caplog):
    caplog.set_level("DEBUG")
    with FakeOpenAI(api_key=GOOD_KEY) as fake:
        service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}", fake.base_url))
        app = Host(lambda: AuthDialog(service, provider="openai"))
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            assert screen.check_action("pick_model", ()) is False  # nothing to pick from before the login
            await pilot.press("k")
            await wait_until(pilot, lambda: isinstance(app.screen, ApiKeyScreen), "the key screen")
            app.screen.query_one("#login-key", Input).value = GOOD_KEY
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen is screen and screen.logged_in == "openai", "the login")
            message = str(screen.query_one("#auth-message", Static).render())
            state = rows(screen)["openai"].status
            await pilot.press("m")
            await wait_until(pilot, lambda: app.results, "the dialog to close")
        await service.aclose()
    assert message.endswith("Press m to choose one of OpenAI's models.") and GOOD_KEY not in message
    # The hint names the dialog's key, so it stays in the dialog: the conversation gets the login sentence alone.
    assert "Press m" not in app.results[0].message and app.results[0].message in message
    assert (state.state, state.source, state.identity) == (CredentialState.READY, "file", "sk-tes…cdef")
    assert app.results[0].action == "pick-model" and app.results[0].provider == "openai"
    assert (await service.store.get("openai")).secret == GOOD_KEY
    assert GOOD_KEY not in caplog.text  # nothing logged the key on its way to the store


async def test_login_opens_the_screen_for_the_providers_method_or_says_why_not(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"))
    app = Host(lambda: AuthDialog(service, provider="azure-openai"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("enter")
        await pilot.pause()
        azure = screen.message
        await highlight(pilot, screen, "ollama")
        login_allowed = screen.check_action("login", ())
        await highlight(pilot, screen, "anthropic")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ApiKeyScreen), "the key screen")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the dialog again")
        cancelled = screen.message
    await service.aclose()
    assert azure.startswith("Azure OpenAI cannot log in yet: providers.azure-openai.base_url")
    assert login_allowed is False  # Ollama needs no login: the key is hidden
    assert cancelled == "Login to Anthropic API cancelled; nothing was stored."


async def test_login_at_once_opens_the_providers_login_screen(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"))
    app = Host(lambda: AuthDialog(service, provider="openai", login=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ApiKeyScreen), "the key screen")
        title = str(app.screen.query_one("#login-title").render())
    await service.aclose()
    assert title == "API key for OpenAI"


async def test_logout_forgets_the_stored_key_after_confirmation(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"), env={"OPENAI_API_KEY": "sk-env-key-0123456789abcdefgh"})
    await service.store.put("openai", StoredCredential(kind="api-key", secret=GOOD_KEY, host="api.openai.com"))
    app = Host(lambda: AuthDialog(service, provider="openai"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert rows(screen)["openai"].status.source == "file"
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: "Forgot" in screen.message, "the logout")
        message = screen.message
        await wait_until(pilot, lambda: rows(screen)["openai"].status.source == "env:OPENAI_API_KEY", "the new state")
    await service.aclose()
    assert message == "Forgot the stored credential for OpenAI. OPENAI_API_KEY is still set in the environment, so OpenAI keeps using it."
    assert await service.store.get("openai") is None


async def test_declining_the_logout_keeps_the_key(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"))
    await service.store.put("openai", StoredCredential(kind="api-key", secret=GOOD_KEY, host="api.openai.com"))
    app = Host(lambda: AuthDialog(service, provider="openai"))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
    await service.aclose()
    assert (await service.store.get("openai")).secret == GOOD_KEY


async def test_editing_the_base_url_keeps_comments_reloads_and_tests_the_connection(home):
    with FakeOllama() as ollama:
        service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"))
        app = Host(lambda: AuthDialog(service, provider="ollama"))
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            assert rows(screen)["ollama"].status.state == CredentialState.UNREACHABLE
            await pilot.press("u")
            field = screen.query_one("#auth-url", Input)
            assert app.focused is field
            field.value = ollama.root_url
            await pilot.press("enter")
            await wait_until(pilot, lambda: "answered" in screen.message, "the connection test")
            message = screen.message
            await wait_until(pilot, lambda: rows(screen)["ollama"].status.state == CredentialState.READY, "the new state")
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.results, "the dialog to close")
        await service.aclose()
    text = (home / "config.toml").read_text()
    assert "# my providers — this comment must survive an edit" in text
    assert f'base_url = "{ollama.root_url}"  # the box under the desk' in text
    assert message == f"Ollama at {ollama.root_url} answered: 2 models available."
    assert service.config.providers["ollama"].base_url == ollama.root_url
    assert app.results[0].config is service.config  # the caller swaps in the re-loaded configuration
    assert any(r.path == "/api/tags" for r in ollama.requests)


async def test_an_invalid_base_url_is_not_written(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"))
    before = (home / "config.toml").read_text()
    app = Host(lambda: AuthDialog(service, provider="lmstudio"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("u")
        screen.query_one("#auth-url", Input).value = "ftp://somewhere"
        await pilot.press("enter")
        await pilot.pause()
        message = screen.message
        still_editing = screen.query_one("#auth-url-bar").display
    await service.aclose()
    assert message.startswith("Not saved — ") and "http" in message
    assert still_editing
    assert (home / "config.toml").read_text() == before


async def test_base_url_is_editable_only_for_local_and_custom_providers(home):
    config = local_config(f"http://127.0.0.1:{closed_port()}") + '\n[providers.corp]\nkind = "openai-chat"\nbase_url = "https://llm.example.com/v1"\nauth = ["api-key"]\n'
    service = make_service(home, config)
    app = Host(lambda: AuthDialog(service))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        editable = {}
        for pid in ("ollama", "lmstudio", "corp", "azure-openai", "openai", "claude-code"):
            await highlight(pilot, screen, pid)
            editable[pid] = screen.check_action("edit_url", ())
    await service.aclose()
    # Azure's preset has no address until the user gives their resource's; OpenAI's is fixed; Claude Code has none.
    assert editable == {"ollama": True, "lmstudio": True, "corp": True, "azure-openai": True, "openai": False, "claude-code": False}


async def test_testing_a_stopped_server_says_it_did_not_answer(home):
    port = closed_port()
    service = make_service(home, local_config(f"http://127.0.0.1:{port}"))
    app = Host(lambda: AuthDialog(service, provider="ollama"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await pilot.press("t")
        await wait_until(pilot, lambda: "did not answer" in screen.message, "the test result")
        message = screen.message
    await service.aclose()
    assert message.startswith(f"Ollama at http://127.0.0.1:{port} did not answer as expected: ")


async def test_explain_shows_the_chain_of_a_profile_and_of_a_bare_provider(home):
    with FakeOllama() as ollama:
        service = make_service(home, local_config(ollama.root_url))
        app = Host(lambda: AuthDialog(service, provider="ollama"))
        async with app.run_test(size=SIZE) as pilot:
            screen = await loaded(pilot)
            await pilot.press("e")
            detail = screen.query_one("#auth-detail")
            await wait_until(pilot, lambda: "chain" in str(detail.render()), "the explanation")
            profile_chain = str(detail.render())
            await highlight(pilot, screen, "anthropic")
            await pilot.press("e")
            await wait_until(pilot, lambda: "own chain" in str(detail.render()), "the explanation")
            provider_chain = str(detail.render())
        await service.aclose()
    assert "The chain of profile local:" in profile_chain
    assert "1. profile  local" in profile_chain and "5. adapter  ollama" in profile_chain
    assert "No profile uses anthropic; the provider's own chain:" in provider_chain
    assert "2. method   api-key" in provider_chain and "state missing" in provider_chain


async def test_keyboard_alone_reaches_every_action_in_the_footer(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"))
    app = Host(lambda: AuthDialog(service, provider="lmstudio"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert app.focused is screen.query_one("#auth-list")
        keys = {b.binding.key for b in screen.active_bindings.values() if b.binding.show and b.enabled}
        await asyncio.sleep(0)
    await service.aclose()
    assert {"k", "x", "u", "t", "e", "escape"} <= keys and "enter" not in keys  # LM Studio needs no login by default


async def test_a_key_stored_for_another_origin_shows_why_and_how_to_log_in_again(home):
    plain = f"http://127.0.0.1:{closed_port()}/v1"
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}", openai_url=plain))
    await service.store.put("openai", StoredCredential(kind="api-key", secret=GOOD_KEY, host="https://api.openai.com"))
    app = Host(lambda: AuthDialog(service, provider="openai"))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        await highlight(pilot, screen, "openai")
        state = rows(screen)["openai"].status.state
        detail = str(screen.query_one("#auth-detail").render())
    await service.aclose()
    assert state is CredentialState.ERROR
    origin = plain.removesuffix("/v1")
    assert (
        f"! error — the stored key was stored for https://api.openai.com, and the provider now points at {origin}; "
        "nothing was sent — log in again for the new address (/login openai)"
    ) in " ".join(detail.split())


async def test_at_80_by_24_state_identity_and_expiry_stay_visible(home):
    service = make_service(home, local_config(f"http://127.0.0.1:{closed_port()}"), env={"OPENAI_API_KEY": GOOD_KEY})
    app = Host(lambda: AuthDialog(service))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await loaded(pilot)
        await pilot.pause()
        inside = screen.query_one("#auth-list").content_region
        for row in [screen.query_one("#auth-head"), *rows(screen).values()]:
            for column in (".col-state", ".col-identity", ".col-expires"):
                region = row.query_one(column).region
                assert region.width >= 10 and inside.x <= region.x and region.right <= inside.right, (column, region, inside)
        # A provider with no credential says so with a dash, not a wide "none".
        assert str(rows(screen)["anthropic"].query_one(".col-source").render()) == "-"
    await service.aclose()
