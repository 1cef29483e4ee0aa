"""The chat screen over the real Ollama adapter and a loopback fake Ollama: stream, stop (connection closed), fail."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Markdown

from tests.fakes import FakeOllama
from tests.ui.support import SIZE, wait_until
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.service.agent import AgentService
from tui_agent.ui.app import TuiAgentApp
from tui_agent.ui.widgets.message import AssistantMessage


def app_on(fake: FakeOllama, home: Path) -> TuiAgentApp:
    (home / "config.toml").write_text(
        f'default_profile = "local"\n[profiles.local]\nprovider = "ollama"\nmodel = "llama3.2:latest"\n'
        f'[providers.ollama]\nbase_url = "{fake.base_url}"\n',
        encoding="utf-8",
    )
    env = {"TUI_AGENT_HOME": str(home), "TUI_AGENT_KEYRING": "file"}
    paths = Paths.resolve(env=env)
    config = load_config(paths.config_file)
    return TuiAgentApp(config=config, paths=paths, service=AgentService(config, paths, env=env))


def answer(app) -> AssistantMessage:
    return app.screen.query_one(AssistantMessage)


async def test_answer_streams_from_a_loopback_ollama(home):
    pieces = ["# Title\n\n", "Some ", "*text* ", "and code:\n\n```sh\n", "echo hi\n", "```\n"]
    with FakeOllama() as fake:
        fake.script(FakeOllama.answer(*pieces, thinking=["hmm"]))
        app = app_on(fake, home)
        async with app.run_test(size=SIZE) as pilot:
            app.screen.prompt.insert("hello")
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.query(AssistantMessage) and answer(app).state == "complete", "the answer")
            await wait_until(pilot, lambda: answer(app).query_one(".answer", Markdown).source == "".join(pieces), "the render")
            assert answer(app).thinking_text == "hmm"
            sent = fake.chat_requests[-1].json
            assert sent["model"] == "llama3.2:latest" and sent["messages"][-1] == {"role": "user", "content": "hello"}
            await pilot.press("ctrl+b")
            assert app.clipboard == "echo hi\n"


async def test_escape_closes_the_connection_to_the_server(home):
    with FakeOllama() as fake:
        fake.script(FakeOllama.answer("first words ", "never sent", pause_after=1))
        app = app_on(fake, home)
        async with app.run_test(size=SIZE) as pilot:
            app.screen.prompt.insert("long one")
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.query(AssistantMessage) and answer(app).text == "first words ", "the first chunk")
            await pilot.press("escape")
            request = fake.chat_requests[-1]
            await wait_until(pilot, lambda: request.disconnected.is_set(), "the client to close the connection")
            assert answer(app).state == "stopped"
            await wait_until(pilot, lambda: answer(app).query_one(".answer", Markdown).source == "first words ", "the render")


async def test_server_error_shows_on_the_answer_and_the_prompt_comes_back(home):
    with FakeOllama() as fake:
        fake.script(FakeOllama.error(404, "model 'llama3.2:latest' not found, try pulling it first"))
        app = app_on(fake, home)
        async with app.run_test(size=SIZE) as pilot:
            app.screen.prompt.insert("hi")
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen.query(AssistantMessage) and answer(app).state == "error", "the error")
            assert "not found" in answer(app).error and "\n" not in answer(app).error
            assert app.screen.prompt.text == "hi"
