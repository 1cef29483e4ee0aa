"""Request outcomes flip what every view shows: side panel, header summary, auth dialog and model picker.

The chat runs over the real openai-chat adapter against the loopback OpenAI fake.
"""

from __future__ import annotations

from tests.fakes._server import Reply
from tests.fakes.fake_openai import FakeOpenAI
from tests.ui.support import make_app, wait_until
from tui_agent.ui.widgets.message import AssistantMessage

KEY = "sk-test-outcomes-good-0123456789"
SIZE = (140, 40)  # wide: the side panel and the (hidden) summary are both there


def config(base_url: str) -> str:
    return (
        f'\n[providers.gw]\ndisplay_name = "Gateway"\nkind = "openai-chat"\nbase_url = "{base_url}"\n'
        'auth = ["api-key"]\napi_key_env = "GW_KEY"\n[profiles.gw]\nprovider = "gw"\nmodel = "gpt-test"\n'
    )


async def send(pilot, text: str) -> AssistantMessage:
    app = pilot.app
    before = len(app.screen.query(AssistantMessage))
    app.screen.prompt.insert(text)
    await pilot.press("enter")
    await wait_until(pilot, lambda: len(app.screen.query(AssistantMessage)) > before, "the answer")
    answer = list(app.screen.query(AssistantMessage))[-1]
    await wait_until(pilot, lambda: answer.state in ("complete", "error", "stopped"), "the answer to end")
    await pilot.pause(0.05)
    return answer


def summary(app) -> str:
    return app.screen.query_one("StatusSummary").text


def errors_in_summary(app) -> int:
    import re

    found = re.search(r"(\d+)!", summary(app))
    return int(found.group(1)) if found else 0


async def picker_reason(pilot, app) -> tuple[bool | None, str]:
    from tui_agent.ui.screens.model_picker import ModelPicker

    app.screen.open_model_picker()
    await wait_until(pilot, lambda: isinstance(app.screen, ModelPicker), "the picker")
    picker = app.screen
    await wait_until(pilot, lambda: "gw" in picker._statuses, "the picker's state of gw")
    entry = next(row.entry for row in picker._rows.values() if row.entry is not None and row.entry.profile == "gw")
    result = picker._availability(entry)
    await pilot.press("escape")
    await pilot.pause()
    return result


async def auth_row(pilot, app) -> str:
    from tui_agent.ui.screens.auth_dialog import AuthDialog, AuthProviderRow

    app.screen.open_auth()
    await wait_until(pilot, lambda: isinstance(app.screen, AuthDialog) and not app.screen.checking, "the auth dialog")
    await pilot.pause()
    row = next(r for r in app.screen.query(AuthProviderRow) if r.provider.id == "gw")
    text = str(row.query(".col-state").first().render())
    await pilot.press("escape")
    await pilot.pause()
    return text


async def test_a_refused_key_turns_every_view_to_error_and_a_new_key_brings_back_ready(home):
    with FakeOpenAI(api_key=KEY) as fake:
        app, _ = make_app(home, default="gw", extra=config(fake.base_url), env={"GW_KEY": "sk-test-outcomes-bad-000000000"})
        async with app.run_test(size=SIZE) as pilot:
            panel = app.screen._ensure_status_panel()
            await pilot.pause()
            for pid in app.config.providers:  # every state known, so the summary's counts change only by gw
                await app.service.credential_status(pid)
            await wait_until(pilot, lambda: panel.row("gw").texts["state"] == "✓ ready", "gw checked")
            errors_before = errors_in_summary(app)  # the Claude Code CLI is not installed here: an error already
            answer = await send(pilot, "hello")
            assert answer.state == "error"
            await wait_until(pilot, lambda: panel.row("gw").texts["state"] == "! error", "the panel row")
            assert errors_in_summary(app) == errors_before + 1
            assert await auth_row(pilot, app) == "! error"
            ok, reason = await picker_reason(pilot, app)
            assert ok is False and "refused the key" in reason and "set a valid GW_KEY" in reason

            # The user fixes the key (a login stores one): the refusal was about the old key.
            await app.service.save_api_key("gw", KEY)
            answer = await send(pilot, "again")
            assert answer.state == "complete"
            await wait_until(pilot, lambda: panel.row("gw").texts["state"] == "✓ ready", "ready again")
            assert errors_in_summary(app) == errors_before
            assert "Last error: none this session" in str(panel.detail_text("gw"))  # the refusal was before the new key
            assert await auth_row(pilot, app) == "✓ ready"
            assert (await picker_reason(pilot, app))[0] is True


async def test_an_html_502_keeps_the_state_adds_a_line_and_a_success_clears_it(home):
    with FakeOpenAI(api_key=KEY) as fake:
        app, _ = make_app(home, default="gw", extra=config(fake.base_url), env={"GW_KEY": KEY})
        async with app.run_test(size=SIZE) as pilot:
            panel = app.screen._ensure_status_panel()
            fake.script(*[Reply.html(502)] * 4)
            answer = await send(pilot, "hello")
            assert answer.state == "error"
            row = panel.row("gw")
            await wait_until(pilot, lambda: row.texts["failure"].startswith("last request failed: HTTP 502"), "the line")
            assert row.texts["state"] == "✓ ready" and "1 failing" in summary(app)
            panel.select("gw")
            assert "last request failed: HTTP 502" in str(panel.detail_text("gw"))

            fake._queues.clear()
            fake.script(fake.answer("fine"))
            assert (await send(pilot, "again")).state == "complete"
            await wait_until(pilot, lambda: row.texts["failure"] == "", "the line to go")
            assert "failing" not in summary(app)
            assert "Last error: none this session" in str(panel.detail_text("gw"))
